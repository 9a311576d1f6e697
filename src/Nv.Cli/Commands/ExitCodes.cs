namespace Nv.Cli.Commands;

/// <summary>The documented exit codes of <c>nv</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The operation failed (the message says why).</summary>
    public const int Failed = 1;

    /// <summary>Bad usage or invalid input; nothing was written.</summary>
    public const int Usage = 2;

    /// <summary>The WAL is corrupt before its tail and the recovery mode refuses to open it.</summary>
    public const int WalCorrupt = 3;

    /// <summary>The WAL faulted (I/O error): nothing past the last durable record was acknowledged.</summary>
    public const int WalFaulted = 4;

    /// <summary>Verification found a problem (broken chain, damaged record).</summary>
    public const int VerifyFailed = 5;

    /// <summary>A store and the WAL disagree in a way replay cannot repair (a store ahead of the WAL, or missing records the
    /// WAL no longer holds); nothing was written.</summary>
    public const int StoreWalMismatch = 6;

    /// <summary>A pipeline stage failed unexpectedly while serving; every waiting caller was answered and a restart
    /// recovers through boot replay (EX_SOFTWARE).</summary>
    public const int StageFaulted = 70;
}
