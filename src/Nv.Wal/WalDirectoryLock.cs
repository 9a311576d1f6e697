using Nv.Wal.IO;

namespace Nv.Wal;

/// <summary>The lock of an existing WAL directory, taken without opening the log: for a tool that changes a store beside
/// the WAL and must know that no Nv process writes meanwhile (<c>nv keys rotate-master</c> re-wraps the data keys in the
/// database). Every read-write open of the log (a host, <c>nv replay</c>, <c>nv load</c>) and every read-only open of a
/// directory with a lock file takes the same lock first, and fails at once while this one holds it.</summary>
/// <remarks>Opening the log read-write only for its lock would append a close commit (and repair whatever recovery
/// repairs); this reads and writes nothing of the log. The only thing it may create is the empty lock file <c>nv.lock</c>
/// of a directory without one (a copied log), exactly as a read-write open would: without it there is nothing to lock.
/// The kernel releases the lock when the process dies.</remarks>
public sealed class WalDirectoryLock : IDisposable
{
    private readonly DirectoryLock _lock;

    private WalDirectoryLock(string directory, DirectoryLock directoryLock)
    {
        Directory = directory;
        _lock = directoryLock;
    }

    /// <summary>The WAL directory (full path).</summary>
    public string Directory { get; }

    /// <summary>Takes the lock of the WAL in <paramref name="directory"/>.</summary>
    /// <param name="directory">The WAL directory (<see cref="WalOptions.Directory"/>).</param>
    /// <exception cref="WalConfigurationException">No WAL is there (nothing is created).</exception>
    /// <exception cref="WalLockedException">Another process has the log open.</exception>
    public static WalDirectoryLock Acquire(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(Path.Combine(full, FasterWriteAheadLog.LogFolder)))
        {
            throw new WalConfigurationException(
                $"No WAL at {full} (no '{FasterWriteAheadLog.LogFolder}' folder in it): nothing to lock, nothing created. Check NV_WAL_DIR / NV_DATA_DIR.");
        }

        return new WalDirectoryLock(full, DirectoryLock.Acquire(full));
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();
}
