using System.Globalization;
using System.Text;
using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Refuses bad batches before anything reaches the WAL: every item passes the single-write rules
/// (<see cref="RequestValidator"/>), an entity appears at most once, and the item count and the batch's size as written
/// to the WAL stay within <see cref="PipelineOptions.MaxBatchItems"/> and <see cref="PipelineOptions.MaxBatchBytes"/> (413).</summary>
/// <remarks>One entity per batch at most: every entity a batch writes takes the batch's LSN as its version, so two items
/// on one entity would give two states the same version and make the page-LSN rule ambiguous.</remarks>
internal sealed class BatchValidator
{
    private readonly RequestValidator _items;
    private readonly PipelineOptions _options;

    public BatchValidator(PipelineOptions options, RequestValidator items)
    {
        _options = options;
        _items = items;
    }

    /// <summary>Throws <see cref="WriteValidationException"/> naming the first problem (fields as <c>items/3/payload/x</c>).</summary>
    public void Validate(BatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequestValidator.CheckAck(request.Ack);
        if (request.Items is null || request.Items.Count == 0)
        {
            throw new WriteValidationException("items", "must hold at least one item");
        }

        if (request.Items.Count > _options.MaxBatchItems)
        {
            throw new WriteValidationException("items", $"holds {request.Items.Count} items; the limit is {_options.MaxBatchItems}", isTooLarge: true);
        }

        var seen = new Dictionary<(string, string), int>();
        for (var i = 0; i < request.Items.Count; i++)
        {
            var item = request.Items[i] ?? throw new WriteValidationException(Field(i, null), "is null");
            if (!Enum.IsDefined(item.Operation))
            {
                throw new WriteValidationException(Field(i, "op"), "must be create, update, patch or delete");
            }

            try
            {
                _items.Validate(AsWrite(request, item, item.Version ?? 1));
            }
            catch (WriteValidationException ex)
            {
                throw new WriteValidationException(Field(i, ex.Field), Detail(ex), ex.IsTooLarge);
            }

            if (seen.TryGetValue((item.DtoType, item.EntityId), out var first))
            {
                throw new WriteValidationException(Field(i, "entityId"),
                    string.Create(CultureInfo.InvariantCulture, $"{item.DtoType} '{item.EntityId}' is already item {first}; a batch changes each entity at most once"));
            }

            seen[(item.DtoType, item.EntityId)] = i;
        }
    }

    /// <summary>Throws (413) when the batch, as the WAL will store it, is larger than <see cref="PipelineOptions.MaxBatchBytes"/>.</summary>
    /// <param name="request">The batch.</param>
    /// <param name="items">Its WAL items.</param>
    /// <param name="sealing">With encryption at rest, what sealing adds to each item (<see cref="SealingBytes"/>); else null.</param>
    public void CheckSize(BatchRequest request, IReadOnlyList<WalBatchItem> items, Func<WalBatchItem, int>? sealing = null)
    {
        var size = EstimateBytes(request, items, _options, sealing);
        if (size > _options.MaxBatchBytes)
        {
            throw new WriteValidationException("items",
                string.Create(CultureInfo.InvariantCulture, $"the batch is {size} bytes as written to the WAL; the limit is {_options.MaxBatchBytes}"), isTooLarge: true);
        }
    }

    /// <summary>The batch's size in the WAL's format-2 record (the codec's own layout, byte for byte: kind 2, with the request's
    /// 32-byte fingerprint, as the pipeline writes every batch). With encryption at rest (<paramref name="sealing"/>) an upper
    /// bound: each item also carries its seal and subject, and a sealed payload is never larger than its plain bytes plus the
    /// seal (it is compressed only when that saves).</summary>
    internal static long EstimateBytes(BatchRequest request, IReadOnlyList<WalBatchItem> items, PipelineOptions options,
        Func<WalBatchItem, int>? sealing = null)
    {
        long size = 1 + 32 + 16 + Str(options.Service) + 8 + 2 + Str(request.RequestId) + Str(request.UserId) + Str(request.Reason) + 4 + 4;
        foreach (var (key, value) in request.Metadata ?? new Dictionary<string, string>())
        {
            size += Str(key) + Str(value);
        }

        foreach (var item in items)
        {
            size += 16 + 1 + 4 + Str(item.DtoType) + Str(item.EntityId) + Str(item.ReplayKey) + 4 + 1 + 8
                + (item.Payload.ValueKind == JsonValueKind.Undefined ? 0 : System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(item.Payload).Length)
                + (sealing?.Invoke(item) ?? 0);
        }

        return size;
    }

    /// <summary>What encryption at rest adds to a batch item as the WAL stores it, sealed for <paramref name="subject"/>: the
    /// envelope kind, the data key id, the seal (header, nonce, tag) and the subject string. Null: the subject is not known
    /// before the append (a delete of a mapped type takes its stored entity's): the largest one a subject can be.</summary>
    internal static int SealingBytes(string? subject) =>
        1 + 16 + Nv.Wal.Protection.DataKey.SealOverhead + (subject is null ? MaxSubjectBytes : Str(subject));

    // A subject is "dtoType/entityId": a dtoType of at most 64 ASCII characters, an entity id of at most 200 UTF-16 characters.
    private const int MaxSubjectBytes = 4 + 64 + 1 + (RequestValidator.MaxEntityIdLength * 3);

    /// <summary>The single write an item stands for (a patch is checked as an update of its patch document).</summary>
    public static WriteRequest AsWrite(BatchRequest request, BatchItem item, int version) => new()
    {
        RequestId = request.RequestId,
        Operation = item.Operation switch
        {
            BatchOperation.Create => WalOperation.Create,
            BatchOperation.Delete => WalOperation.Delete,
            _ => WalOperation.Update,
        },
        DtoType = item.DtoType,
        EntityId = item.EntityId,
        Payload = item.Payload,
        Version = version,
        UserId = request.UserId,
        Reason = request.Reason,
        Metadata = request.Metadata,
        ExpectedLsn = item.ExpectedLsn,
    };

    private static int Str(string? s) => 4 + (s is null ? 0 : Encoding.UTF8.GetByteCount(s));

    private static string Field(int index, string? field)
    {
        var prefix = "items/" + index.ToString(CultureInfo.InvariantCulture);
        return field is null or "requestId" or "userId" or "reason" or "metadata" || field.StartsWith("metadata", StringComparison.Ordinal)
            ? field is null ? prefix : field
            : prefix + "/" + field;
    }

    // WriteValidationException's message is "field: detail"; keep the detail only.
    private static string Detail(WriteValidationException ex)
    {
        var prefix = ex.Field + ": ";
        return ex.Message.StartsWith(prefix, StringComparison.Ordinal) ? ex.Message[prefix.Length..] : ex.Message;
    }
}
