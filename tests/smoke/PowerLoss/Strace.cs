namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>The strace command line that records what the power-loss model needs: every call that creates, names,
/// writes, truncates or syncs a file, the descriptor bookkeeping around them, and the bytes of each write in full.</summary>
/// <remarks><c>--seccomp-bpf</c> stops the traced program only on these calls, so the rest of the runtime runs at full
/// speed; <c>-y</c> annotates descriptors with their paths; <c>-x</c> prints non-printable bytes as <c>\xNN</c>; <c>-s</c>
/// is large enough that no write is ever truncated (the parser refuses a truncated buffer).</remarks>
internal static class Strace
{
    private const string Calls =
        "openat,open,creat,close,dup,dup2,dup3,fcntl,lseek,write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg,"
        + "ftruncate,truncate,fallocate,fsync,fdatasync,sync,syncfs,rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,"
        + "copy_file_range,sendfile";

    /// <summary>Largest buffer strace prints in full; above the biggest write Nv makes with the tests' page sizes.</summary>
    public const int MaxBuffer = 1 << 24;

    public static string[] Recorder(string traceFile) =>
        ["strace", "-f", "--seccomp-bpf", "-qq", "-y", "-x", "-s", MaxBuffer.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-e", "signal=none", "-e", $"trace={Calls}", "-o", traceFile];
}
