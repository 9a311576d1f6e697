using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Replay;

/// <summary>Boot replay as four overlapped stages: read (WAL scan and decode) → apply (one durable database transaction
/// per batch) → prepare (audit entries built from the apply results) → append (one durable audit append per batch).</summary>
/// <remarks>
/// The stages run concurrently, joined by bounded channels, so decoding, the database, entry building and the audit
/// store spread over the cores while memory stays bounded (a few batches in flight).
/// Watermarks: the applied watermark moves past a batch only after its database commit returned; the audited
/// watermark only after the batch's entries are durable and everything before it is audited
/// (<see cref="AuditCoordinator.AppendReplayedAsync"/>). A crash at any point therefore leaves both watermarks at or
/// below the truth, and the next replay converges (re-applying returns stored outcomes; appends are idempotent by id).
/// Failure policy: a read or apply failure stops the reading, lets the audit stages finish the batches already
/// committed, then is rethrown. Audit store failures never stop the replay (the batch is left to the backfill); an
/// unexpected failure of an audit stage closes the channels before it, so every stage ends and the cause is rethrown.
/// </remarks>
internal sealed class ReplayPipeline
{
    private const long ProgressLogEvery = 128 * 1024;

    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly Protection.KeyRing? _keys;
    private readonly AuditCoordinator _audit;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;

    public ReplayPipeline(IWriteAheadLog wal, IDbWriter db, AuditCoordinator audit, PipelineOptions options, ILogger logger, Protection.KeyRing? keys = null)
    {
        _keys = keys;
        _wal = wal;
        _db = db;
        _audit = audit;
        _options = options;
        _logger = logger;
    }

    /// <summary>Applies and audits every durable record after <paramref name="start"/>.</summary>
    /// <param name="start">The applied watermark: replay begins at the next LSN.</param>
    /// <param name="total">Records expected (for progress).</param>
    /// <param name="progress">Receives (done, total) after each applied batch.</param>
    /// <param name="maxTransientRetries">Give up on an unavailable database after this many retries (null: never).</param>
    /// <param name="cancellationToken">Stops every stage.</param>
    public async Task<ReplayCounts> RunAsync(Lsn start, long total, Action<long, long>? progress, int? maxTransientRetries, CancellationToken cancellationToken)
    {
        var counts = new ReplayCounts();
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toApply = Channel.CreateBounded<List<WalRecord>>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var toPrepare = Channel.CreateBounded<AppliedBatch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var toAppend = Channel.CreateBounded<ReplayedAudit>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });

        var read = Task.Run(() => ReadStageAsync(start, toApply.Writer, stopReading.Token), CancellationToken.None);
        var apply = RunStage(
            () => ApplyStageAsync(toApply.Reader, toPrepare.Writer, counts, total, progress, maxTransientRetries, cancellationToken),
            toApply.Writer, toPrepare.Writer, stopReading);
        var prepare = RunStage(
            () => PrepareStageAsync(toPrepare.Reader, toAppend.Writer, cancellationToken),
            toPrepare.Writer, toAppend.Writer, stopReading);
        var append = RunStage<ReplayedAudit, ReplayedAudit>(
            () => AppendStageAsync(toAppend.Reader, counts, cancellationToken),
            toAppend.Writer, null, stopReading);

        try
        {
            await Task.WhenAll(read, apply, prepare, append);
        }
        catch when (!cancellationToken.IsCancellationRequested)
        {
            // Rethrow the cause, not the cancellation or closed channel it caused in the other stages.
            var causes = new[] { apply, read, prepare, append }
                .Where(t => t.IsFaulted)
                .SelectMany(t => t.Exception!.InnerExceptions)
                .ToList();
            var cause = causes.FirstOrDefault(e => e is not (OperationCanceledException or ChannelClosedException)) ?? causes.FirstOrDefault();
            if (cause is not null)
            {
                ExceptionDispatchInfo.Throw(cause);
            }

            throw;
        }

        return counts;
    }

    // Runs a consuming stage. When it ends, its output is completed normally, so the stages after it still finish the
    // batches already committed. When it fails, nothing more is read, and its input is closed so the stage before it,
    // blocked on a full channel, fails too instead of waiting forever.
    private static Task RunStage<TIn, TOut>(Func<Task> stage, ChannelWriter<TIn> input, ChannelWriter<TOut>? output, CancellationTokenSource stopReading) =>
        Task.Run(async () =>
        {
            try
            {
                await stage();
            }
            catch (Exception ex)
            {
                input.TryComplete(ex);
                await stopReading.CancelAsync();
                throw;
            }
            finally
            {
                output?.TryComplete();
            }
        }, CancellationToken.None);

    private async Task ReadStageAsync(Lsn start, ChannelWriter<List<WalRecord>> output, CancellationToken cancellationToken)
    {
        try
        {
            var size = _options.ReplayBatchSize;
            var batch = new List<WalRecord>(size);
            await foreach (var record in _wal.ReadAsync(start.Next, cancellationToken))
            {
                batch.Add(record);
                if (batch.Count == size)
                {
                    await output.WriteAsync(batch, cancellationToken);
                    batch = new List<WalRecord>(size);
                }
            }

            if (batch.Count > 0)
            {
                await output.WriteAsync(batch, cancellationToken);
            }

            output.TryComplete();
        }
        catch (Exception ex)
        {
            output.TryComplete(ex);
            throw;
        }
    }

    private async Task ApplyStageAsync(
        ChannelReader<List<WalRecord>> input, ChannelWriter<AppliedBatch> output, ReplayCounts counts, long total,
        Action<long, long>? progress, int? maxTransientRetries, CancellationToken cancellationToken)
    {
        await foreach (var batch in input.ReadAllAsync(cancellationToken))
        {
            var results = await ApplyWithRetryAsync(batch, maxTransientRetries, cancellationToken);
            foreach (var result in results)
            {
                switch (result.Status)
                {
                    case ApplyStatus.Applied: counts.Replayed++; break;
                    case ApplyStatus.AlreadyApplied: counts.AlreadyApplied++; break;
                    case ApplyStatus.Rejected: counts.Rejected++; break;
                }
            }

            // The commit returned: the batch is in the database (durable against a process crash; the store records
            // how far, and the durable point at the end of the replay covers a power loss).
            CrashPoints.Hit(CrashPoints.ReplayAfterApply);
            var before = counts.Read;
            counts.Read += batch.Count;
            progress?.Invoke(counts.Read, total);
            if (counts.Read / ProgressLogEvery != before / ProgressLogEvery)
            {
                Log.ReplayProgress(_logger, counts.Read, total);
            }

            await output.WriteAsync(new AppliedBatch(batch, results), cancellationToken);
        }
    }

    private async Task PrepareStageAsync(ChannelReader<AppliedBatch> input, ChannelWriter<ReplayedAudit> output, CancellationToken cancellationToken)
    {
        await foreach (var batch in input.ReadAllAsync(cancellationToken))
        {
            await output.WriteAsync(await _audit.PrepareReplayedAsync(batch.Records, batch.Results, cancellationToken), cancellationToken);
        }
    }

    private async Task AppendStageAsync(ChannelReader<ReplayedAudit> input, ReplayCounts counts, CancellationToken cancellationToken)
    {
        await foreach (var batch in input.ReadAllAsync(cancellationToken))
        {
            counts.Audited += await _audit.AppendReplayedAsync(batch, cancellationToken);
            CrashPoints.Hit(CrashPoints.ReplayAfterAudit);
        }
    }

    private async Task<IReadOnlyList<ApplyResult>> ApplyWithRetryAsync(List<WalRecord> batch, int? maxRetries, CancellationToken cancellationToken)
    {
        var delay = _options.InitialRetryDelay;
        for (var attempt = 0; ; attempt++)
        {
            IReadOnlyList<ApplyResult> results;
            string? error;
            try
            {
                results = await _db.ApplyAsync(batch, cancellationToken);
                if (results.Count == batch.Count && results[0].Status != ApplyStatus.Transient)
                {
                    if (_keys is not null)
                    {
                        await _keys.AfterApplyAsync(batch, results, cancellationToken); // erased subjects' keys leave memory
                    }

                    return results;
                }

                error = results.Count > 0 ? results[0].Error : "no results";
            }
            catch (DbWriterException ex) when (ex.IsTransient)
            {
                error = ex.Message;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Deterministic (a damaged store, an LSN issued twice, a record the writer refuses): retrying it for ever
                // kept the host from ever becoming ready, with only a retry warning to say why. It stops the replay, as the
                // live pipeline's apply stage faults on it.
                var message = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"Replay cannot apply the records from lsn {batch[0].Lsn.Value} to {batch[^1].Lsn.Value}: {ex.Message}");
                throw ex is DbWriterException db
                    ? new DbWriterException(message, db.ErrorClass, db.ErrorCode, db) // the CLI reports it whole, with its exit code
                    : new InvalidOperationException(message, ex);
            }

            if (maxRetries is { } max && attempt >= max)
            {
                throw new InvalidOperationException($"The database stayed unavailable while replaying lsn {batch[0].Lsn}: {error}");
            }

            Log.ReplayTransient(_logger, batch[0].Lsn.Value, error, (long)delay.TotalMilliseconds);
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }
}
