using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Changes;

/// <summary>The change feed: WAL records (the after images) joined with the database's stored outcomes (applied or not),
/// page by page, up to the pipeline's applied position; then it waits for the apply stage to move.</summary>
/// <remarks>
/// Source of truth: a change is published only when its resolution says Applied, and only up to
/// <see cref="PipelinePositions.Applied"/> (everything at or below it is committed to the database). The after image is the
/// WAL record's payload, exactly as the resolutions outbox defines it, so nothing is stored twice for the feed.
/// The WAL is truncated first and the resolutions purged after it (WritePipeline.Maintenance), so whatever LSN the WAL still
/// holds has its resolution; an LSN below the WAL's first is gone (<see cref="ChangesGoneException"/>), also when the
/// truncation happens while a consumer reads. Consumers never lock anything the write path uses: WAL reads go to the
/// segment files, database reads to read-only connections, and the only shared state is a completion signal.
/// Memory: a consumer holds one page, served at its own pace: at most 512 records, and once its changes reach
/// <see cref="PipelineOptions.ChangeFeedPageBytes"/> the page ends after that record (always one record at least, so a record
/// larger than the budget is still served). While a page is read, the stored outcomes of at most 32 records are held besides.
/// </remarks>
internal sealed class ChangeFeed : IChangeFeed
{
    private const int PageSize = 512;

    // Stored outcomes (resolutions) are read this many LSNs at a time while a page is read, and dropped once their records
    // are: they carry before images, which the feed never serves, so reading a whole page's at once held up to 512 of them.
    private const int ResolutionStep = 32;

    // Counted for each change held besides its after image (ids, strings, the event): a page of deletes is bounded too.
    private const int ChangeOverheadBytes = 256;

    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly PipelinePositions _positions;
    private readonly ILogger _logger;
    private readonly Nv.Wal.Protection.IDataKeyProvider? _keys;
    private readonly long _pageBytes;

    // keys: the data keys (encryption at rest), or null: an after image whose key was destroyed after its page was read is
    // not served (Served). options: the page's byte budget (ChangeFeedPageBytes), its default when null.
    public ChangeFeed(IWriteAheadLog wal, IDbWriter db, PipelinePositions positions, ILogger<ChangeFeed> logger, Nv.Wal.Protection.IDataKeyProvider? keys = null,
        IOptions<PipelineOptions>? options = null)
    {
        _wal = wal;
        _db = db;
        _positions = positions;
        _logger = logger;
        _keys = keys;
        _pageBytes = (options?.Value ?? new PipelineOptions()).ChangeFeedPageBytes;
    }

    public void ThrowIfGone(ChangePosition from)
    {
        var first = _wal.GetStatistics().FirstLsn;
        if (from.Lsn.Value > 0 && first.Value > 0 && from.Lsn < first)
        {
            Log.ChangeFeedGone(_logger, from.Lsn.Value, first.Value);
            throw new ChangesGoneException(from.Lsn, first);
        }
    }

    public async IAsyncEnumerable<ChangeEvent> ReadAsync(ChangePosition from, ChangeFeedOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new ChangeFeedOptions();
        ThrowIfGone(from);
        var next = from.Lsn == Lsn.None ? ChangePosition.At(Lsn.Max(new Lsn(1), _wal.GetStatistics().FirstLsn)) : from;
        var end = options.Follow ? (Lsn?)null : _positions.Applied;
        Log.ChangeFeedStarted(_logger, next.Lsn.Value, options.DtoType);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var applied = _positions.Applied;
            if (end is { } stop && next.Lsn > stop)
            {
                yield break;
            }

            if (next.Lsn > applied)
            {
                await _positions.WaitForAppliedAsync(next.Lsn, cancellationToken);
                continue;
            }

            var upTo = new Lsn(Math.Min(applied.Value, next.Lsn.Value + PageSize - 1));
            var (page, readThrough) = await ReadPageAsync(next, upTo, options.DtoType, cancellationToken);
            foreach (var (change, keyId) in page)
            {
                yield return Served(change, keyId);
            }

            next = ChangePosition.At(readThrough.Next);
        }
    }

    // A page is read whole and served at the consumer's pace: a subject erased in between (its keys destroyed, its erasure
    // answered) must not reach a slow consumer in plain from the page held in memory. Looked up per change served (the
    // key ring's cache; a destroyed key is found missing).
    private ChangeEvent Served(ChangeEvent change, Guid? keyId) =>
        keyId is { } id && change.After is not null && _keys is not null && !_keys.TryGetKey(id, out _) ? change with { After = null } : change;

    // One page: the WAL records in [from.Lsn, upTo] and their resolutions, as the changes they applied (materialised, so
    // that a truncation racing the read is reported as gone rather than as a broken read), and the LSN read through. The
    // page ends early after the record whose changes bring it to the byte budget (whole records only: a page never ends
    // inside a batch, and the first record is always taken). LSNs the log never held (a jump after data loss,
    // AcceptStoreAheadOfWal, or records a recovery mode skipped) end the page before them; a page that starts in such a gap
    // is gone, with the first LSN held after it as the place to resume (reporting the log's first LSN there sent a consumer
    // back below the gap, into the same gap, for ever). A record's resolution is read after the record: the WAL is truncated
    // before the resolutions are purged, so a record read whose resolution is missing was truncated meanwhile (gone).
    private async Task<(List<(ChangeEvent Change, Guid? KeyId)> Changes, Lsn ReadThrough)> ReadPageAsync(ChangePosition from, Lsn upTo, string? dtoType,
        CancellationToken cancellationToken)
    {
        var resolutions = new Dictionary<Lsn, RecordResolution>();
        var resolvedThrough = new Lsn(from.Lsn.Value - 1);
        var changes = new List<(ChangeEvent, Guid?)>();
        var bytes = 0L;
        var expected = from.Lsn;
        try
        {
            await foreach (var record in _wal.ReadAsync(from.Lsn, cancellationToken))
            {
                if (record.Lsn > expected)
                {
                    return expected == from.Lsn ? throw Gone(from.Lsn, resumeAt: record.Lsn) : (changes, new Lsn(expected.Value - 1));
                }

                if (record.Lsn > upTo)
                {
                    break;
                }

                if (record.Lsn != expected)
                {
                    throw Gone(from.Lsn);
                }

                if (record.Lsn > resolvedThrough)
                {
                    var step = (int)Math.Min(ResolutionStep, upTo.Value - record.Lsn.Value + 1);
                    resolutions = (await _db.GetResolutionsAsync(new Lsn(record.Lsn.Value - 1), step, cancellationToken)).ToDictionary(r => r.Lsn);
                    resolvedThrough = new Lsn(record.Lsn.Value + step - 1);
                }

                if (!resolutions.TryGetValue(record.Lsn, out var resolution))
                {
                    throw Gone(from.Lsn);
                }

                expected = expected.Next;
                if (resolution.Status == ApplyStatus.Applied)
                {
                    bytes += Add(changes, record, resolution, record.Lsn == from.Lsn ? from.Item : 0, dtoType);
                }

                if (bytes >= _pageBytes && record.Lsn < upTo)
                {
                    return (changes, record.Lsn);
                }
            }
        }
        catch (WalTruncatedException)
        {
            throw Gone(from.Lsn); // truncated between the check and this read
        }

        if (expected <= upTo)
        {
            throw Gone(from.Lsn);
        }

        return (changes, upTo);
    }

    private ChangesGoneException Gone(Lsn requested, Lsn? resumeAt = null)
    {
        var first = resumeAt ?? _wal.GetStatistics().FirstLsn;
        Log.ChangeFeedGone(_logger, requested.Value, first.Value);
        return new ChangesGoneException(requested, first);
    }

    // Adds the changes the record applied (from item fromItem, of dtoType if given); returns about how many bytes they hold.
    private static long Add(List<(ChangeEvent, Guid?)> changes, WalRecord record, RecordResolution resolution, int fromItem, string? dtoType)
    {
        if (record.Operation == WalOperation.AuditEvent)
        {
            return 0; // a custom audit event changes no entity: it belongs to the audit trail (role auditor), not to the feed
        }

        var entityChanges = record.EntityChanges();
        var first = changes.Count;
        var bytes = 0L;
        for (var i = fromItem; i < entityChanges.Count; i++)
        {
            var change = entityChanges[i];
            var written = record.Items is null || resolution.Items is not { } items || (i < items.Count && items[i].Status == ApplyStatus.Applied);
            if (!written || (dtoType is not null && !string.Equals(change.DtoType, dtoType, StringComparison.Ordinal)))
            {
                continue;
            }

            var after = AfterImage(change);
            bytes += ChangeOverheadBytes + (after is { } image ? JsonMarshal.GetRawUtf8Value(image).Length : 0);
            changes.Add((new ChangeEvent
            {
                Position = new ChangePosition(record.Lsn, i),
                Id = ChangePosition.Format(record.Lsn, record.Items is null ? null : i),
                IsBatchItem = record.Items is not null,
                RequestId = change.RequestId,
                Operation = AuditEntryFactory.OperationName(change.Operation),
                DtoType = change.DtoType,
                EntityId = change.EntityId,
                Version = change.Version,
                After = after,
                Timestamp = change.Timestamp,
                UserId = change.UserId,
            }, change.PayloadKeyId));
        }

        // The last change of a batch this consumer gets (after its filter and the items not written) carries the record's
        // own id, "42" like a single write: "LSN 42 fully consumed", so a consumer resuming after it starts at LSN 43. As
        // "42.3" it resumed at (42, 4), and once LSN 42 was truncated that was "gone" although nothing was missed; an
        // earlier item keeps "42.k", so a consumer that stopped inside a truncated batch still hears "gone".
        if (record.Items is not null && changes.Count > first)
        {
            var (last, keyId) = changes[^1];
            changes[^1] = (last with { Id = ChangePosition.Format(record.Lsn, null) }, keyId);
        }

        return bytes;
    }

    // No after image for a delete or an erasure (an "erase" event tells consumers to forget the subject), nor for a payload
    // whose data key was destroyed since (its subject was erased): it is gone for good.
    private static System.Text.Json.JsonElement? AfterImage(WalRecord change) =>
        change.Operation is WalOperation.Delete or WalOperation.Erase || change.Payload.ValueKind == System.Text.Json.JsonValueKind.Undefined
            ? null
            : change.Payload.Clone();
}
