using System.Globalization;
using System.Text.Json;
using Nv.DbWriter.Sqlite;
using Nv.Wal;

namespace Nv.DbWriter;

/// <remarks>
/// Batches (<see cref="WalOperation.Batch"/>): the record's items are decided one by one with <see cref="Decide"/>,
/// each against its own slot and with the batch's LSN, and the batch takes one outcome:
/// 1. the first item (in order) that is <see cref="ApplyStatus.Rejected"/> rejects the whole batch: nothing of it is
///    written, the resolution names that item (<see cref="BatchDecision.FailedItem"/>);
/// 2. otherwise, when every item is superseded (a later record already wrote its slot), the batch is
///    <see cref="ApplyStatus.AlreadyApplied"/>;
/// 3. otherwise it is <see cref="ApplyStatus.Applied"/>: every item that is not superseded is written, in one transaction.
/// Superseded items only occur when records are applied out of LSN order (the pipeline never does): they are skipped
/// exactly as a superseded single record is, so the final state equals in-order application.
/// A batch names each entity at most once, so its items never depend on each other and the page-LSN rule stays exact:
/// every slot a batch writes carries the batch's LSN, which is also that entity's new version (ETag).
/// </remarks>
internal static partial class ApplyRules
{
    /// <summary>Decides a batch from its items (as <see cref="WalRecord.EntityChanges"/> returns them) and each item's slot.</summary>
    /// <param name="items">The batch's items as single-entity records (all with the batch's LSN).</param>
    /// <param name="slot">For item i: whether its slot exists, whether it is live, and its stored LSN.</param>
    public static BatchDecision DecideBatch(IReadOnlyList<WalRecord> items, Func<int, (bool Exists, bool Live, long StoredLsn)> slot)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(slot);
        var statuses = new ApplyStatus[items.Count];
        var superseded = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var (exists, live, storedLsn) = slot(i);
            var (status, reason) = Decide(items[i], exists, live, storedLsn);
            statuses[i] = status;
            if (status == ApplyStatus.Rejected)
            {
                return new BatchDecision(ApplyStatus.Rejected, reason, i, statuses, exists ? storedLsn : null);
            }

            if (status == ApplyStatus.AlreadyApplied)
            {
                superseded++;
            }
        }

        return new BatchDecision(superseded == items.Count ? ApplyStatus.AlreadyApplied : ApplyStatus.Applied, RejectReason.None, null, statuses, null);
    }

    /// <summary>A human-readable reason for a batch's rejection, naming the item.</summary>
    public static string DescribeBatch(IReadOnlyList<WalRecord> items, int failedItem, RejectReason reason, long? storedLsn) =>
        string.Create(CultureInfo.InvariantCulture, $"Batch item {failedItem}: {Describe(items[failedItem], reason, storedLsn)} Nothing of the batch was written.");

    /// <summary>Checks a batch record's items before anything is written (writers call it from their own validation).</summary>
    /// <exception cref="ArgumentException">No items, a bad item, or an entity named twice.</exception>
    public static void ValidateBatch(WalRecord record, string paramName)
    {
        if (record.Items is not { Count: > 0 } items)
        {
            throw new ArgumentException($"Batch record at LSN {record.Lsn} has no items.", paramName);
        }

        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i] ?? throw new ArgumentException($"Batch record at LSN {record.Lsn}: item {i} is null.", paramName);
            SqliteIdentifiers.ThrowIfInvalidDtoType(item.DtoType, paramName);
            if (string.IsNullOrEmpty(item.EntityId) || item.ReplayKey is null)
            {
                throw new ArgumentException($"Batch record at LSN {record.Lsn}: item {i} lacks an entity id or replay key.", paramName);
            }

            if (item.Operation is not (WalOperation.Create or WalOperation.Update or WalOperation.Delete))
            {
                throw new ArgumentException($"Batch record at LSN {record.Lsn}: item {i} has operation {item.Operation}.", paramName);
            }

            if (item.Operation != WalOperation.Delete && item.Payload.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException(
                    $"Batch record at LSN {record.Lsn}: item {i} ({item.Operation}) needs a JSON object payload, not {item.Payload.ValueKind}.", paramName);
            }

            if (!seen.Add((item.DtoType, item.EntityId)))
            {
                throw new ArgumentException(
                    $"Batch record at LSN {record.Lsn}: {item.DtoType} '{item.EntityId}' appears more than once (item {i}).", paramName);
            }
        }
    }

    /// <summary>The result of an applied (or superseded) batch: per item its status and before/after images.</summary>
    public static ApplyResult BatchResult(WalRecord record, ApplyStatus status, IReadOnlyList<WalRecord> items, IReadOnlyList<ApplyStatus> statuses,
        IReadOnlyList<JsonElement?> befores)
    {
        var results = new ApplyResult[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var written = statuses[i] == ApplyStatus.Applied;
            results[i] = new ApplyResult
            {
                Lsn = record.Lsn,
                Status = statuses[i],
                Before = written ? befores[i] : null,
                After = AfterImage(items[i]),
            };
        }

        return new ApplyResult { Lsn = record.Lsn, Status = status, Items = results };
    }

    /// <summary>The result of a batch replayed from its stored resolution: the batch is AlreadyApplied (or Rejected as
    /// stored), and each item keeps its stored status and before image (so the audit can be rebuilt exactly).</summary>
    public static ApplyResult FromBatchResolution(WalRecord record, RecordResolution stored)
    {
        if (stored.Status == ApplyStatus.Rejected)
        {
            var items = record.EntityChanges();
            var failed = stored.FailedItem is { } f && f >= 0 && f < items.Count ? f : 0;
            return new ApplyResult
            {
                Lsn = record.Lsn,
                Status = ApplyStatus.Rejected,
                RejectReason = stored.RejectReason,
                FailedItem = stored.FailedItem,
                Error = DescribeBatch(items, failed, stored.RejectReason, storedLsn: null),
            };
        }

        var changes = record.EntityChanges();
        var results = new ApplyResult[changes.Count];
        for (var i = 0; i < changes.Count; i++)
        {
            var item = stored.Items is { } storedItems && i < storedItems.Count ? storedItems[i] : null;
            results[i] = new ApplyResult
            {
                Lsn = record.Lsn,
                // The item's stored status: Applied when the first application wrote it, AlreadyApplied when superseded.
                Status = item?.Status ?? ApplyStatus.AlreadyApplied,
                Before = item?.Before,
                After = AfterImage(changes[i]),
            };
        }

        return new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.AlreadyApplied, Items = results };
    }

    /// <summary>The result of a batch whose resolution was purged: it is reflected in the database, its details are gone.</summary>
    public static ApplyResult PurgedBatch(WalRecord record) => new()
    {
        Lsn = record.Lsn,
        Status = ApplyStatus.AlreadyApplied,
        Items = [.. record.EntityChanges().Select(item => new ApplyResult { Lsn = record.Lsn, Status = ApplyStatus.AlreadyApplied, After = AfterImage(item) })],
        Error = "The resolution of this record was purged; its outcome is no longer known.",
    };
}
