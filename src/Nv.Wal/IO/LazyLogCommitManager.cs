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
/// </remarks>
internal sealed class LazyLogCommitManager : ILogCommitManager
{
    private readonly DeviceLogCommitCheckpointManager _inner;
    private readonly long _intervalTicks;
    private long _lastWriteTimestamp;
    private long _lastBegin = -1;
    private volatile bool _forceNext;

    public LazyLogCommitManager(string commitDirectory, TimeSpan interval)
    {
        _inner = new DeviceLogCommitCheckpointManager(
            new LocalStorageNamedDeviceFactory(), new DefaultCheckpointNamingScheme(commitDirectory), removeOutdated: true);
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Makes the next commit write its metadata (used before the final commit of a clean close).</summary>
    public bool ForceNext
    {
        get => _forceNext;
        set => _forceNext = value;
    }

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
        _lastBegin = beginAddress;
        _lastWriteTimestamp = now;
    }

    public byte[] GetCommitMetadata(long commitNum) => _inner.GetCommitMetadata(commitNum);

    public IEnumerable<long> ListCommits() => _inner.ListCommits();

    public void RemoveCommit(long commitNum) => _inner.RemoveCommit(commitNum);

    public void RemoveAllCommits() => _inner.RemoveAllCommits();

    public void OnRecovery(long commitNum) => _inner.OnRecovery(commitNum);

    public void Dispose() => _inner.Dispose();
}
