using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The staged, batching write pipeline: commit (WAL append + one flush per batch) → apply (one database
/// transaction per chunk) → audit (one audit batch) → answer each caller.</summary>
/// <remarks>
/// Each stage is one loop on its own task, so batch k+1 is being fsynced while batch k is applied and batch k-1 is
/// audited. Only the commit loop appends, so a batch's LSNs are contiguous and the apply loop sees records in LSN
/// order. Failure policy (see DESIGN.md): a WAL failure faults the pipeline for good (no retry, nothing acknowledged);
/// a transient database failure answers the waiting callers Pending and retries the same records with backoff, in
/// order, until they apply; audit failures are the <see cref="AuditCoordinator"/>'s business and never fail a write.
/// </remarks>
internal sealed partial class WritePipeline : IWritePipeline, IAsyncDisposable
{
    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly AuditCoordinator _audit;
    private readonly PipelineOptions _options;
    private readonly RequestValidator _validator;
    private readonly RequestIdCache _requests;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<PendingWrite> _incoming;
    private readonly Channel<CommittedBatch> _committed;
    private readonly Channel<AppliedChunk> _applied;
    private readonly CancellationTokenSource _stopping = new();
    private Task[] _loops = [];
    private Exception? _fault;
    private int _started;

    public WritePipeline(
        IWriteAheadLog wal,
        IDbWriter db,
        AuditCoordinator audit,
        IOptions<PipelineOptions> options,
        ILogger<WritePipeline> logger,
        TimeProvider? time = null)
    {
        _wal = wal;
        _db = db;
        _audit = audit;
        _options = options.Value;
        _validator = new RequestValidator(_options);
        _requests = new RequestIdCache(_options.RequestIdCacheSize);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _incoming = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(16 * _options.MaxBatchSize)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _committed = Channel.CreateBounded<CommittedBatch>(new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
        _applied = Channel.CreateBounded<AppliedChunk>(new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
    }

    /// <inheritdoc />
    public bool IsReady => Volatile.Read(ref _started) == 1 && Volatile.Read(ref _fault) is null;

    /// <summary>Why the pipeline stopped accepting writes, if it did.</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>Starts the stage loops. Called once boot replay has finished.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        var token = _stopping.Token;
        _loops =
        [
            Task.Run(() => CommitLoopAsync(token), CancellationToken.None),
            Task.Run(() => ApplyLoopAsync(token), CancellationToken.None),
            Task.Run(() => AuditLoopAsync(token), CancellationToken.None),
            Task.Run(() => BackfillLoopAsync(token), CancellationToken.None),
            Task.Run(() => MaintenanceLoopAsync(token), CancellationToken.None),
        ];
    }

    /// <inheritdoc />
    public async Task<WriteOutcome> WriteAsync(WriteRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ThrowIfUnavailable();
        _validator.Validate(request);
        request = PrepareForWal(request);

        var candidate = new PendingWrite(request);
        var owner = _requests.GetOrAdd(candidate);
        if (!ReferenceEquals(owner, candidate))
        {
            return await RetryOutcomeAsync(owner, cancellationToken);
        }

        try
        {
            await _incoming.Writer.WriteAsync(candidate, cancellationToken);
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            _requests.Remove(candidate);
            ThrowIfUnavailable();
            throw;
        }

        return await candidate.Completion.Task.WaitAsync(cancellationToken);
    }

    private async Task<WriteOutcome> RetryOutcomeAsync(PendingWrite first, CancellationToken cancellationToken)
    {
        var outcome = await first.Completion.Task.WaitAsync(cancellationToken);
        if (outcome.Status == WriteStatus.Pending)
        {
            // The first attempt was answered Pending; it may have applied since.
            var resolved = await _db.FindByRequestIdAsync(outcome.RequestId, cancellationToken);
            if (resolved is not null)
            {
                outcome = FromResolution(resolved);
            }
        }

        return outcome with { IsReplay = true };
    }

    private static WriteOutcome FromResolution(RecordResolution resolution) => new()
    {
        RequestId = resolution.RequestId,
        Status = resolution.Status == ApplyStatus.Rejected ? WriteStatus.Rejected : WriteStatus.Applied,
        Lsn = resolution.Lsn,
        RejectReason = resolution.RejectReason,
        Detail = resolution.Status == ApplyStatus.Rejected ? DescribeRejection(resolution.RejectReason) : null,
        IsReplay = true,
    };

    internal static string DescribeRejection(RejectReason reason) => reason switch
    {
        RejectReason.AlreadyExists => "the entity already exists",
        RejectReason.NotFound => "the entity does not exist",
        RejectReason.PreconditionFailed => "the entity's version does not match the expected version",
        RejectReason.Unstorable => "the database cannot store this record (a value or size beyond its limits, or an id held by a document Nv did not write); the Nv log says which",
        _ => "rejected by the database",
    };

    private void ThrowIfUnavailable()
    {
        if (Volatile.Read(ref _fault) is { } fault)
        {
            throw fault as WalFaultedException ?? new WalFaultedException("The write-ahead log has failed; no writes are accepted. " + fault.Message, innerException: fault);
        }

        if (Volatile.Read(ref _started) == 0)
        {
            throw new InvalidOperationException("Nv is not ready: boot replay has not finished.");
        }

        if (_stopping.IsCancellationRequested)
        {
            throw new InvalidOperationException("Nv is stopping and accepts no new writes.");
        }
    }

    /// <summary>Stops accepting writes, lets in-flight batches finish, and stops the loops.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _incoming.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_loops[..Math.Min(3, _loops.Length)]).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Log.PipelineStopTimedOut(_logger);
        }

        await _stopping.CancelAsync();
        await Task.WhenAll(_loops).ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None);
        }

        _stopping.Dispose();
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    private sealed record AppliedChunk(List<PendingWrite> Writes, IReadOnlyList<ApplyResult> Results);
}
