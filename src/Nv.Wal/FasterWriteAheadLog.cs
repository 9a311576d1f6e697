using System.Buffers;
using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nv.Wal.Framing;
using Nv.Wal.IO;
using Nv.Wal.Recovery;

namespace Nv.Wal;

/// <summary>The write-ahead log on FasterLog (O_SYNC device, fast-commit mode, per-entry checksums).</summary>
/// <remarks>
/// Failure policy (fail-stop): any error FasterLog reports for a write or commit, or any exception from enqueue or
/// commit, moves the log to <see cref="WalState.Faulted"/>. Pending and later appends and flushes then throw
/// <see cref="WalFaultedException"/>; nothing is retried and nothing past <see cref="DurableLsn"/> is acknowledged.
/// Threading: appends serialize on one lock (LSN assignment and FasterLog enqueue are one atomic step, so LSN order
/// equals log order); one background flush loop runs at a time and serves every waiting flush with one commit.
/// </remarks>
internal sealed partial class FasterWriteAheadLog : IWriteAheadLog
{
    private readonly DirectoryLock? _directoryLock; // null only for a read-only open of a directory without a lock file
    private readonly WalOptions _options;
    private readonly bool _readOnly; // WalOptions.ReadOnly: nothing in the directory is created, changed or deleted
    private readonly ILogger _logger;
    private readonly string _directory;
    private readonly string _logDirectory;
    private readonly Lock _appendLock = new();
    private readonly SemaphoreSlim _truncateGate = new(1, 1); // truncations one at a time (see TruncateAsync)
    private readonly LsnIndex _index = new();
    private readonly WalPayloadProtection _protection;

    private static readonly byte[] CloseCookie = "nv-wal-close"u8.ToArray();
    private readonly Func<string, IDevice>? _deviceFactory;
    private readonly Action<string>? _rebuildStep;
    private readonly Func<long>? _freeSpace; // test hook: free bytes on the WAL's file system (null: asked of the file system)
    private readonly List<string> _repairFiles = []; // *.broken files this open's recovery saved
    private bool _repairCommitted; // this open's rebuild copy verified: from here it replaces the log, crash or not
    private IDevice _device = null!;
    private FasterLog _log = null!;
    private long _lastLsn;
    private long _lastRecordLsn;
    private bool _appendedSinceOpen;
    private LsnJumps _jumps = LsnJumps.Empty;
    private long _firstLsn;
    private long _firstAddress;
    private long _truncatingTo; // the cut of the latest truncation once it started (may be ahead of _firstLsn); see HeldStart
    private long _truncatingAddress;
    private int _state;
    private WalFaultedException? _fault;
    private Task? _closing; // the one close; every DisposeAsync awaits it

    /// <summary>Test hook: runs inside a truncation once it has chosen its cut, before it looks the cut up.</summary>
    internal Func<Task>? BeforeCutLookup { get; set; }

    /// <summary>Test hook: runs inside a truncation once its commit completed (FasterLog deletes the segments below the cut),
    /// before the log's first LSN moves.</summary>
    internal Func<Task>? AfterTruncationCommit { get; set; }

    public FasterWriteAheadLog(IOptions<WalOptions> options, ILogger<FasterWriteAheadLog>? logger = null, Protection.IDataKeyProvider? keys = null)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), (ILogger?)logger, keys: keys)
    {
    }

    /// <param name="options">Validated here.</param>
    /// <param name="logger">Optional.</param>
    /// <param name="deviceFactory">Test hook: creates the segment device for a base path (fault injection).</param>
    /// <param name="rebuildStep">Test hook: called with the name of each step of a rebuild as it completes (crash injection).</param>
    /// <param name="keys">The data keys payloads are sealed with and opened by (encryption at rest); null: none.</param>
    /// <param name="freeSpace">Test hook: the free bytes recovery's repairs see on the WAL's file system.</param>
    internal FasterWriteAheadLog(WalOptions options, ILogger? logger, Func<string, IDevice>? deviceFactory = null, Action<string>? rebuildStep = null,
        Protection.IDataKeyProvider? keys = null, Func<long>? freeSpace = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new WalOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(WalOptions), typeof(WalOptions), validation.Failures);
        }

        _options = options;
        _protection = new WalPayloadProtection(keys, options.CompressPayloads);
        _deviceFactory = deviceFactory;
        _rebuildStep = rebuildStep;
        _freeSpace = freeSpace;
        _logger = logger ?? NullLogger.Instance;
        _directory = Path.GetFullPath(options.Directory);
        _logDirectory = Path.Combine(_directory, LogFolder);
        _readOnly = options.ReadOnly;

        if (_readOnly)
        {
            if (!Directory.Exists(_logDirectory))
            {
                throw new WalConfigurationException(
                    $"No WAL at {_directory} (no '{LogFolder}' folder in it): a read-only open creates nothing. Check NV_WAL_DIR / NV_DATA_DIR.");
            }

            _directoryLock = DirectoryLock.AcquireExisting(_directory);
        }
        else
        {
            // A new WAL directory (and any parent this creates) is made durable in its parent before anything is put in it.
            DurableDirectory.Create(_directory);
            _directoryLock = DirectoryLock.Acquire(_directory);
        }

        if (SegmentFileDevice.UnsafeNoSync)
        {
            Log.UnsafeNoSync(_logger, _directory);
        }

        try
        {
            WalGeometry.CheckOrRecord(_directory, options, _readOnly);
            Recovery = Recover();
        }
        catch
        {
            _directoryLock?.Dispose();
            throw;
        }

        if (!_readOnly)
        {
            StartWatermarkTimer();
        }
    }

    public WalState State => (WalState)Volatile.Read(ref _state);

    public WalRecoveryReport Recovery { get; }

    public Lsn LastLsn => new(Volatile.Read(ref _lastLsn));

    public Lsn DurableLsn => new(Volatile.Read(ref _durable).Lsn);

    public ValueTask<WalRecord> AppendAsync(WalRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfNotOpen();
        ThrowIfReadOnly();
        var frame = WalRecordCodec.EncodeFrame(record, MaxBodyBytes, _protection, rent: true, out var length, out var bodyCrc, out var stored, out var rented);
        long lsn;
        try
        {
            lock (_appendLock)
            {
                ThrowIfNotOpen();
                lsn = _lastLsn + 1;
                var sealedFrame = frame.AsSpan(0, length);
                WalFrame.Seal(sealedFrame, lsn, bodyCrc);
                long address;
                try
                {
                    address = _log.Enqueue(sealedFrame);
                }
                catch (Exception ex)
                {
                    throw Fault(ex);
                }

                _index.Add(lsn, address);
                _appendedSinceOpen = true;
                _lastRecordLsn = lsn;
                if (_firstLsn == 0)
                {
                    _firstLsn = lsn;
                    _firstAddress = address;
                }

                Volatile.Write(ref _lastLsn, lsn);
            }
        }
        finally
        {
            if (rented)
            {
                ArrayPool<byte>.Shared.Return(frame); // FASTER copied the frame into its page
            }
        }

        return ValueTask.FromResult(stored with { Lsn = new Lsn(lsn) });
    }

    public ValueTask ContinueAfterAsync(Lsn highestSeen, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfNotOpen();
        ThrowIfReadOnly();
        lock (_appendLock)
        {
            ThrowIfNotOpen();
            if (_appendedSinceOpen)
            {
                throw new InvalidOperationException(
                    "ContinueAfterAsync must be called before the first append after the WAL was opened: records were appended since.");
            }

            if (highestSeen.Value <= _lastLsn)
            {
                return ValueTask.CompletedTask;
            }

            // Durable before anything changes in memory: a failed write leaves the log as it was (and may be retried:
            // each attempt writes a new temp file, never re-syncs the pages of a failed one).
            var jumps = _jumps.With(_lastRecordLsn, highestSeen.Value + 1);
            jumps.Save(_directory);
            _jumps = jumps;
            var previous = _lastLsn;
            Volatile.Write(ref _lastLsn, highestSeen.Value);
            PublishDurable(highestSeen.Value, Volatile.Read(ref _durable).Address);
            Log.ContinuedAfter(_logger, highestSeen.Value, previous, Path.Combine(_directory, LsnJumps.FileName));
        }

        return ValueTask.CompletedTask;
    }

    public WalStatistics GetStatistics()
    {
        var segments = ListSegments(_logDirectory);
        return new WalStatistics
        {
            State = State,
            FirstLsn = new Lsn(Volatile.Read(ref _firstLsn)),
            LastLsn = LastLsn,
            DurableLsn = DurableLsn,
            AppliedLsn = AppliedLsn,
            AuditedLsn = AuditedLsn,
            SegmentCount = segments.Count,
            SizeBytes = segments.Sum(s => s.Length),
        };
    }

    /// <summary>Closes the log; every call, concurrent or later, completes only once the files are closed. (A host disposed twice
    /// at once, as WebApplicationFactory does with a minimal-hosting app, used to see its second call return while the first was
    /// still writing the close commit.)</summary>
    public ValueTask DisposeAsync()
    {
        var closing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _closing, closing.Task, null) is { } other)
        {
            return new ValueTask(other);
        }

        _ = CloseOnceAsync(closing); // completes closing.Task, which every caller (this one too) awaits
        return new ValueTask(closing.Task);
    }

    private async Task CloseOnceAsync(TaskCompletionSource closing)
    {
        try
        {
            await CloseAsync();
            closing.TrySetResult();
        }
        catch (Exception ex)
        {
            closing.TrySetException(ex);
        }
    }

    private async Task CloseAsync()
    {
        if (Interlocked.CompareExchange(ref _state, (int)WalState.Disposed, (int)WalState.Open) != (int)WalState.Open
            && Interlocked.Exchange(ref _state, (int)WalState.Disposed) == (int)WalState.Disposed)
        {
            return;
        }

        await StopWatermarkTimerAsync();
        if (_fault is null && !_readOnly)
        {
            try
            {
                // Records appended but never flushed are made durable on a clean close; nobody waits for them.
                // The final commit is a strong one (a cookie forces it even when nothing new was appended) and writes
                // FasterLog's metadata, so the next open knows the exact committed end and detects files cut below it.
                _commitManager.ForceNext = true;
                await _log.CommitStronglyAsync(CloseCookie);
                if (_commitManager.Failure is { } metadataFailure)
                {
                    throw metadataFailure;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Nothing past DurableLsn was acknowledged, so nothing acknowledged is lost; the next open verifies the files.
                Log.CloseCommitFailed(_logger, ex, DurableLsn.Value);
            }

            try
            {
                // The watermarks name records that were durable before this close: valid whether or not its commit succeeded.
                await PersistWatermarksCoreAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.WatermarkPersistFailed(_logger, ex);
            }
        }

        await DrainFlushLoopAsync();
        Log.Closed(_logger, LastLsn.Value, DurableLsn.Value);
        CloseFaster();
        _persistLock.Dispose();
        _directoryLock?.Dispose();
    }

    private int MaxBodyBytes => Math.Min(_options.MaxRecordBytes, (1 << _options.PageSizeBits) - LogScanner.EntryHeaderSize - WalFrame.HeaderSize - 4);

    private void ThrowIfNotOpen()
    {
        var fault = Volatile.Read(ref _fault);
        if (fault is not null)
        {
            throw fault;
        }

        ObjectDisposedException.ThrowIf(State == WalState.Disposed, this);
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new InvalidOperationException($"The WAL in {_directory} was opened read-only (Nv:Wal:ReadOnly): it cannot be written to.");
        }
    }

    /// <summary>Moves the log to Faulted (first error wins) and returns the exception every caller now gets.</summary>
    private WalFaultedException Fault(Exception cause)
    {
        if (cause is WalFaultedException already)
        {
            return already;
        }

        string? path = null;
        int? errno = null;
        if (cause is CommitFailureException cfe)
        {
            var info = cfe.LinkedCommitInfo.CommitInfo;
            // FasterLog 2.6.5's managed device reports every I/O exception as error code uint.MaxValue: the errno is lost.
            errno = info.ErrorCode is 0 or uint.MaxValue ? null : (int)info.ErrorCode;
            path = $"{Path.Combine(_logDirectory, SegmentBaseName)}.{info.FromAddress >> _options.SegmentSizeBits}";
        }
        else if (cause is NativeSyncException nse)
        {
            path = nse.Path;
            errno = nse.Errno;
        }
        else if (cause is CommitMetadataWriteException metadata)
        {
            path = metadata.Path;
            errno = metadata.Errno;
        }
        else if (cause is IOException io && io.HResult != 0)
        {
            errno = io.HResult & 0xFFFF;
        }

        var fault = new WalFaultedException($"The write-ahead log is faulted: {cause.Message}", path ?? _logDirectory, errno, cause);
        if (Interlocked.CompareExchange(ref _fault, fault, null) is { } first)
        {
            return first;
        }

        Interlocked.CompareExchange(ref _state, (int)WalState.Faulted, (int)WalState.Open);
        Log.Faulted(_logger, cause, cause.Message, fault.Path, errno);
        return fault;
    }
}
