using System.Buffers.Binary;
using System.Diagnostics;
using FASTER.core;

namespace Nv.Wal.IO;

/// <summary>FasterLog commit metadata written at most once per interval instead of once per group commit.</summary>
/// <remarks>
/// In fast-commit mode every FasterLog commit already writes a commit record into the log itself, and FasterLog marks
/// the commit durable (<c>CommittedUntilAddress</c>) as soon as the log write covering that record completed. The
/// per-commit metadata file (<c>commits/log-commits/commit.N.0</c>: create, one O_SYNC write, delete the previous
/// one) only tells recovery where to start scanning for commit records. Writing it on every group commit doubled the
/// synchronous writes per commit and serialized them in FasterLog's commit worker, so it is written only when
/// recovery needs it: the first commit, whenever the begin address moved (truncation: the old start may be deleted
/// next), when <see cref="ForceNext"/> was set (clean close), and otherwise at most once per interval, which bounds
/// how far recovery scans forward (one interval of log). Skipping a metadata write never loses a commit: recovery
/// scans forward from the last metadata written and finds every later commit record in the log.
/// A metadata write with a new begin address (the first one, and each truncation) is followed by a checked fsync of its
/// directory (the first time also of the directories above it), before FasterLog goes on to delete the segments below
/// that address: FasterLog creates a new file per commit and deletes the previous one, and without the directory sync a
/// power loss can keep an old file whose begin address points into segments the truncation removed (durably, since the
/// segment directory is synced for new segments), and the log then refuses to open. Other metadata writes only move the
/// point recovery scans from, which a power loss may set back harmlessly. A failed sync is not thrown into FasterLog's
/// commit worker (which would leave the commit hanging): it is kept in <see cref="Failure"/>, and the log faults on it.
/// </remarks>
internal sealed class LazyLogCommitManager : ILogCommitManager
{
    private readonly DeviceLogCommitCheckpointManager _inner;
    private readonly string _commitDirectory;
    private readonly long _intervalTicks;
    private bool _parentsSynced;
    private long _syncedBegin = -1;
    private Exception? _failure;
    private long _lastWriteTimestamp;
    private long _lastBegin = -1;
    private volatile bool _forceNext;

    public LazyLogCommitManager(string commitDirectory, TimeSpan interval)
    {
        _inner = new DeviceLogCommitCheckpointManager(
            new LocalStorageNamedDeviceFactory(), new DefaultCheckpointNamingScheme(commitDirectory), removeOutdated: true);
        _commitDirectory = Path.GetFullPath(commitDirectory);
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Makes the next commit write its metadata (used before the final commit of a clean close).</summary>
    public bool ForceNext
    {
        get => _forceNext;
        set => _forceNext = value;
    }

    /// <summary>The first failed directory sync (the log must fault: its metadata may not survive a power loss), or null.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>How many metadata writes were skipped (diagnostics and tests).</summary>
    public long Skipped { get; private set; }

    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        // FasterLog calls this from its single serial commit worker: no concurrent calls.
        var now = Stopwatch.GetTimestamp();
        if (!forceWriteMetadata && !_forceNext && beginAddress == _lastBegin && now - _lastWriteTimestamp < _intervalTicks)
        {
            Skipped++;
            return;
        }

        _forceNext = false;
        _inner.Commit(beginAddress, untilAddress, commitMetadata, commitNum, forceWriteMetadata: true);
        if (beginAddress != _syncedBegin)
        {
            try
            {
                SyncDirectories();
                _syncedBegin = beginAddress;
            }
            catch (NativeSyncException ex)
            {
                Interlocked.CompareExchange(ref _failure, ex, null);
            }
        }

        _lastBegin = beginAddress;
        _lastWriteTimestamp = now;
    }

    public byte[] GetCommitMetadata(long commitNum) => _inner.GetCommitMetadata(commitNum);

    // The new metadata file's name (and the removal of the previous one) made durable before FasterLog goes on to delete
    // the segments below a new begin address.
    private void SyncDirectories()
    {
        var files = Path.Combine(_commitDirectory, "log-commits");
        if (!Directory.Exists(files))
        {
            return;
        }

        NativeFileSync.FsyncDirectory(files);
        if (!_parentsSynced)
        {
            NativeFileSync.FsyncDirectory(_commitDirectory);
            NativeFileSync.FsyncDirectory(Path.GetDirectoryName(_commitDirectory)!);
            _parentsSynced = true;
        }
    }

    /// <summary>The log address the newest intact commit metadata on disk covers, or -1 when there is none.</summary>
    /// <remarks>Metadata is written only after its commit completed, and a commit completes only once every log write
    /// below it completed, so everything below this address was acknowledged as durable. Commit records that recovery
    /// finds past it in the log are not proof of that: in fast-commit mode the write holding a commit record may reach
    /// the disk while an earlier write of the same flush, still in flight at a power loss, never does.</remarks>
    public long LatestMetadataUntilAddress()
    {
        var latest = -1L;
        foreach (var commitNum in _inner.ListCommits())
        {
            byte[]? metadata;
            try
            {
                metadata = _inner.GetCommitMetadata(commitNum);
            }
            catch (Exception ex) when (ex is IOException or FasterException or ArgumentException or InvalidOperationException)
            {
                continue;
            }

            if (metadata is not null && TryReadUntilAddress(metadata, commitNum, out var until))
            {
                latest = Math.Max(latest, until);
            }
        }

        return latest;
    }

    /// <summary>Reads the until-address of FasterLog's commit metadata (FasterLogRecoveryInfo version 1, FASTER 2.6.5:
    /// int32 version, int64 checksum, int64 begin, int64 until, int64 commit number, then iterators and cookie); false
    /// unless the version is 1, the commit number is the file's and 0 &lt;= begin &lt;= until. (The checksum also covers
    /// iterators and cookie in a FASTER-internal way; FasterLog itself checked it when it recovered.)</summary>
    internal static bool TryReadUntilAddress(ReadOnlySpan<byte> metadata, long commitNum, out long untilAddress)
    {
        untilAddress = -1;
        if (metadata.Length < 36 || BinaryPrimitives.ReadInt32LittleEndian(metadata) != 1)
        {
            return false;
        }

        var begin = BinaryPrimitives.ReadInt64LittleEndian(metadata[12..]);
        var until = BinaryPrimitives.ReadInt64LittleEndian(metadata[20..]);
        if (BinaryPrimitives.ReadInt64LittleEndian(metadata[28..]) != commitNum || begin < 0 || until < begin)
        {
            return false;
        }

        untilAddress = until;
        return true;
    }

    public IEnumerable<long> ListCommits() => _inner.ListCommits();

    public void RemoveCommit(long commitNum) => _inner.RemoveCommit(commitNum);

    public void RemoveAllCommits() => _inner.RemoveAllCommits();

    public void OnRecovery(long commitNum) => _inner.OnRecovery(commitNum);

    public void Dispose() => _inner.Dispose();
}
