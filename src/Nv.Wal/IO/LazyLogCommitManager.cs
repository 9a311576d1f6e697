using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using FASTER.core;

namespace Nv.Wal.IO;

/// <summary>FasterLog commit metadata written at most once per interval instead of once per group commit, durably and
/// with every error reported.</summary>
/// <remarks>
/// <para>In fast-commit mode every FasterLog commit already writes a commit record into the log itself, and FasterLog marks
/// the commit durable (<c>CommittedUntilAddress</c>) as soon as the log write covering that record completed. The
/// per-commit metadata file (<c>commits/log-commits/commit.N.0</c>) tells recovery where to start scanning for commit
/// records, and Nv's recovery reads its address as the point below which every byte was acknowledged. Writing it on
/// every group commit doubled the synchronous writes per commit and serialized them in FasterLog's commit worker, so it
/// is written only when recovery needs it: the first commit, whenever the begin address moved (truncation: the old start
/// may be deleted next), when <see cref="ForceNext"/> was set (clean close), and otherwise at most once per interval,
/// which bounds how far recovery scans forward (one interval of log). Skipping a metadata write never loses a commit:
/// recovery scans forward from the last metadata written and finds every later commit record in the log.</para>
/// <para>Durability and errors: FASTER's own manager wrote the file through a device whose errors went only to its
/// logger, never fsynced the new file's directory, and created its directories without fsyncing their parents. This one
/// writes FASTER's format itself (length-prefixed, zero-padded to 512 bytes): a temp file in <c>commits/</c>, a checked
/// fsync, a rename into <c>log-commits/</c>, a checked fsync of both directories (the strict POSIX rule for a rename
/// across directories, as the power-loss images model it), then the previous metadata file is deleted. Its directories are created with <see cref="DurableDirectory"/>. Any failure is reported to the owner
/// (<c>onWriteError</c>: the WAL faults) and kept in <see cref="Failure"/>; it is never thrown into FasterLog's commit
/// worker, which would stall every later commit, and no later metadata is written (no retry after a failed fsync).</para>
/// </remarks>
internal sealed class LazyLogCommitManager : ILogCommitManager
{
    private const string CommitFolder = "log-commits";
    private const int SectorSize = 512;

    private readonly DeviceLogCommitCheckpointManager _inner;
    private readonly string _directory;
    private readonly string _commitDirectory;
    private readonly Action<Exception>? _onWriteError;
    private readonly bool _readOnly;
    private readonly long _intervalTicks;
    private long _lastWriteTimestamp;
    private long _lastBegin = -1;
    private long _lastWritten = -1;
    private volatile bool _forceNext;
    private volatile Exception? _failure;

    /// <param name="directory">The metadata directory (<c>log/commits</c>); created durably.</param>
    /// <param name="interval">The longest time between two metadata writes while commits go on.</param>
    /// <param name="onWriteError">Told about the first failed metadata write (on FasterLog's commit worker thread).</param>
    /// <param name="readOnly">A read-only WAL open: metadata is read, never written or deleted, and no directory or stray
    /// temp file is created or removed (a missing directory lists no commits).</param>
    public LazyLogCommitManager(string directory, TimeSpan interval, Action<Exception>? onWriteError = null, bool readOnly = false)
    {
        _directory = Path.GetFullPath(directory);
        _commitDirectory = Path.Combine(_directory, CommitFolder);
        _readOnly = readOnly;
        if (!readOnly)
        {
            DurableDirectory.Create(_commitDirectory);
            foreach (var stray in Directory.EnumerateFiles(_directory, "commit.*.tmp"))
            {
                File.Delete(stray); // a write a crash interrupted before its rename: never metadata
            }
        }

        _onWriteError = onWriteError;
        _inner = new DeviceLogCommitCheckpointManager(
            new LocalStorageNamedDeviceFactory(), new DefaultCheckpointNamingScheme(_directory), removeOutdated: true);
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

    /// <summary>The first metadata write that failed, if any (<see cref="CommitMetadataWriteException"/>).</summary>
    public Exception? Failure => _failure;

    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        // FasterLog calls this from its single serial commit worker: no concurrent calls.
        if (_readOnly)
        {
            throw new InvalidOperationException("The WAL was opened read-only: no commit metadata is written.");
        }

        var now = Stopwatch.GetTimestamp();
        if (_failure is not null
            || (!forceWriteMetadata && !_forceNext && beginAddress == _lastBegin && now - _lastWriteTimestamp < _intervalTicks))
        {
            Skipped++;
            return;
        }

        _forceNext = false;
        var path = Path.Combine(_commitDirectory, string.Create(CultureInfo.InvariantCulture, $"commit.{commitNum}.0"));
        try
        {
            Write(path, commitMetadata);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var failure = new CommitMetadataWriteException(path, ex);
            _failure = failure;
            _onWriteError?.Invoke(failure);
            return;
        }

        if (_lastWritten >= 0 && _lastWritten != commitNum)
        {
            // The previous metadata is outdated; losing this delete in a crash is harmless (recovery takes the newest).
            TryDelete(_lastWritten);
        }

        _lastWritten = commitNum;
        _lastBegin = beginAddress;
        _lastWriteTimestamp = now;
    }

    public byte[] GetCommitMetadata(long commitNum) => _inner.GetCommitMetadata(commitNum);

    public IEnumerable<long> ListCommits() => _readOnly && !Directory.Exists(_commitDirectory) ? [] : _inner.ListCommits();

    public void RemoveCommit(long commitNum)
    {
        if (!_readOnly)
        {
            _inner.RemoveCommit(commitNum);
        }
    }

    public void RemoveAllCommits()
    {
        if (!_readOnly)
        {
            _inner.RemoveAllCommits();
        }
    }

    public void OnRecovery(long commitNum)
    {
        // FASTER's manager deletes every other commit here (removeOutdated); a read-only open leaves them to the next
        // read-write one.
        if (!_readOnly)
        {
            _inner.OnRecovery(commitNum);
        }

        _lastWritten = commitNum;
    }

    public void Dispose() => _inner.Dispose();

    /// <summary>FASTER's metadata file format (<c>DeviceLogCommitCheckpointManager</c>): the length as i32, the metadata,
    /// zeros to a multiple of 512 bytes; written so that the file is either absent or complete.</summary>
    private void Write(string path, byte[] metadata)
    {
        var bytes = new byte[(4 + metadata.Length + SectorSize - 1) / SectorSize * SectorSize];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, metadata.Length);
        metadata.CopyTo(bytes, 4);

        // The temp file lives outside log-commits: FASTER lists every file there as a commit.
        var temp = Path.Combine(_directory, Path.GetFileName(path) + ".tmp");
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            stream.Write(bytes);
            stream.Flush();
            NativeFileSync.Fsync(stream.SafeFileHandle, temp);
        }

        // The metadata names a committed address: the segment files holding it must not vanish in a power loss that keeps the
        // metadata. FasterLog creates a segment during a flush and the WAL syncs the segment directory only after the commit
        // (FasterWriteAheadLog.Flush.cs), so a metadata write inside that commit could become durable first and name a
        // segment whose entry was lost: recovery then refused to open (found by the full-size power-loss sweep, image 191 of
        // NV_TEST_SEED=1212832362, as the harness of that time built images). Segments live in the parent of this directory (log/, beside log/commits).
        if (Path.GetDirectoryName(_directory) is { } segments && Directory.Exists(segments))
        {
            NativeFileSync.FsyncDirectory(segments);
        }

        File.Move(temp, path, overwrite: true);
        // A rename across directories is durable, under the strict POSIX rules, only once both directories are synced
        // (ext4's journal commits it whole, but a power loss may keep neither name where that does not hold).
        NativeFileSync.FsyncDirectory(_commitDirectory);
        NativeFileSync.FsyncDirectory(_directory);
    }

    private void TryDelete(long commitNum)
    {
        try
        {
            File.Delete(Path.Combine(_commitDirectory, string.Create(CultureInfo.InvariantCulture, $"commit.{commitNum}.0")));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: the next recovery removes every commit but the newest.
        }
    }
}
