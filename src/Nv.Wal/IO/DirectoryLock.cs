namespace Nv.Wal.IO;

/// <summary>An exclusive, process-wide lock on a WAL directory (an advisory <c>flock</c> on <c>nv.lock</c>), so two
/// processes can never open the same log: a second <c>nv</c> (an operator's <c>nv replay</c> while the host runs, a
/// second host) fails at once with a clear message instead of corrupting the segments.</summary>
/// <remarks>.NET implements <see cref="FileShare.None"/> on Unix with <c>flock(LOCK_EX | LOCK_NB)</c>; the kernel
/// releases it when the process dies, so a SIGKILLed host never leaves a stale lock.</remarks>
internal sealed class DirectoryLock : IDisposable
{
    public const string FileName = "nv.lock";

    private readonly FileStream _stream;

    private DirectoryLock(FileStream stream) => _stream = stream;

    public static DirectoryLock Acquire(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            return new DirectoryLock(stream);
        }
        catch (IOException ex)
        {
            throw new WalLockedException(
                $"The WAL directory {directory} is in use by another process (lock file {path}). Stop the running nv host first.", ex);
        }
    }

    /// <summary>For a read-only open: takes the lock through the existing lock file, creating nothing; null when the
    /// directory has no lock file (no Nv process ever opened it read-write there: a copy of a log, say).</summary>
    public static DirectoryLock? AcquireExisting(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            // Write access only for the lock itself: .NET takes flock(LOCK_EX) for FileShare.None; nothing is written.
            return new DirectoryLock(new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (IOException ex)
        {
            throw new WalLockedException(
                $"The WAL directory {directory} is in use by another process (lock file {path}). Stop the running nv host first.", ex);
        }
    }

    public void Dispose() => _stream.Dispose();
}
