using System.Buffers;
using System.Text.Json;
using Nv.Audit.Diff;
using Nv.Wal;

namespace Nv.Audit;

/// <summary>Custom audit events (a service's own events: a report exported, a role granted, a setting changed) as they
/// travel in a WAL record of operation <see cref="WalOperation.AuditEvent"/>, and the audit entry each one becomes.</summary>
/// <remarks>
/// The record carries the event in its ordinary fields: the subject in <see cref="WalRecord.EntityId"/>, its optional
/// entity type in <see cref="WalRecord.DtoType"/> (empty when none), who, why and metadata in
/// <see cref="WalRecord.UserId"/>, <see cref="WalRecord.Reason"/> and <see cref="WalRecord.Metadata"/>, and the rest in
/// <see cref="WalRecord.Payload"/>: <c>{"category":"system-events","operation":"report-exported"}</c>, plus
/// <c>"before"</c> and <c>"after"</c> when the event has them (any JSON value). With encryption at rest the payload is
/// sealed under the data key of the event's subject, and the record keeps a plain copy of the category and operation
/// (<see cref="WithPlainHeader"/>), so the entry can still be built, without images, once the key is destroyed. The
/// entry is a pure function of the record (id, timestamp, LSN and WAL record hash included), so the on-time path, boot
/// replay and the backfill build the same bytes. Entity mutations are Nv's own: a custom event may not claim that category, so an entity's history and
/// time travel only ever show what the database applied.
/// </remarks>
public static class AuditEvents
{
    /// <summary>The largest operation name, in characters.</summary>
    public const int MaxOperationLength = 64;

    /// <summary>Whether a custom event may be recorded under <paramref name="category"/>: every category but
    /// <see cref="AuditCategory.EntityMutation"/>.</summary>
    public static bool IsAllowed(AuditCategory category) =>
        category is AuditCategory.Authentication or AuditCategory.Permission or AuditCategory.SystemEvents
            or AuditCategory.ServiceStartStop or AuditCategory.EnvironmentChange;

    /// <summary>Why <paramref name="operation"/> is not a valid event operation name, or null: 1–64 characters of ASCII
    /// letters, digits, <c>-</c>, <c>_</c>, <c>.</c> and <c>:</c>.</summary>
    public static string? OperationProblem(string? operation)
    {
        if (string.IsNullOrEmpty(operation))
        {
            return "is required";
        }

        if (operation.Length > MaxOperationLength)
        {
            return $"is longer than {MaxOperationLength} characters";
        }

        return operation.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')
            ? null
            : "may contain only ASCII letters, digits, '-', '_', '.' and ':'";
    }

    /// <summary>The payload of an audit-event record.</summary>
    /// <exception cref="ArgumentException">The category may not be used by a custom event, the operation is invalid, or an
    /// image holds text that cannot be read (an escaped unpaired surrogate such as <c>"\ud800"</c>).</exception>
    public static JsonElement ToPayload(AuditCategory category, string operation, JsonElement? before, JsonElement? after)
    {
        if (!IsAllowed(category))
        {
            throw new ArgumentException($"A custom audit event cannot have category {category}.", nameof(category));
        }

        if (OperationProblem(operation) is { } problem)
        {
            throw new ArgumentException("The operation " + problem + ".", nameof(operation));
        }

        // No event may pose as one of Nv's own entries (the newest service-start entry is what a MongoDB audit store
        // compares the next start's environment with). Only new events are refused: a record in the WAL is audited as is.
        if (NvOperations.All.Contains(operation))
        {
            throw new ArgumentException($"The operation '{operation}' names an entry Nv records itself; a custom audit event cannot use it.", nameof(operation));
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("category", AuditCategoryNames.ToName(category));
            writer.WriteString("operation", operation);
            if (before is { } b)
            {
                writer.WritePropertyName("before");
                WriteImage(writer, b, nameof(before));
            }

            if (after is { } a)
            {
                writer.WritePropertyName("after");
                WriteImage(writer, a, nameof(after));
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    // System.Text.Json parses an escaped lone surrogate but throws InvalidOperationException when it writes (reads) it as
    // text: that is a bad argument, not a broken state (it was a 500 over HTTP).
    private static void WriteImage(Utf8JsonWriter writer, JsonElement image, string name)
    {
        try
        {
            image.WriteTo(writer);
        }
        catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
        {
            throw new ArgumentException($"The {name} image may not contain unpaired surrogates in its keys or strings.", name, ex);
        }
    }

    /// <summary>Reads an audit-event payload back: its category, operation and before/after images.</summary>
    /// <exception cref="FormatException">The payload is not one <see cref="ToPayload"/> writes (a member missing, of the wrong
    /// type, unknown or repeated; a category a custom event may not use; an invalid operation).</exception>
    public static (AuditCategory Category, string Operation, JsonElement? Before, JsonElement? After) ParsePayload(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("An audit event's payload must be a JSON object.");
        }

        string? category = null, operation = null;
        JsonElement? before = null, after = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in payload.EnumerateObject())
        {
            if (!seen.Add(member.Name))
            {
                throw new FormatException($"An audit event's payload repeats '{member.Name}'.");
            }

            switch (member.Name)
            {
                case "category" when member.Value.ValueKind == JsonValueKind.String:
                    category = member.Value.GetString();
                    break;
                case "operation" when member.Value.ValueKind == JsonValueKind.String:
                    operation = member.Value.GetString();
                    break;
                case "before":
                    before = member.Value;
                    break;
                case "after":
                    after = member.Value;
                    break;
                default:
                    throw new FormatException($"An audit event's payload has an unexpected member '{member.Name}' ({member.Value.ValueKind}).");
            }
        }

        var parsed = ParseCategory(category ?? throw new FormatException("An audit event's payload has no category."));

        if (OperationProblem(operation) is { } problem)
        {
            throw new FormatException("An audit event's operation " + problem + ".");
        }

        return (parsed, operation!, before, after);
    }

    /// <summary>The record with the plain copy of its event's category and operation (<see cref="WalRecord.EventCategory"/>,
    /// <see cref="WalRecord.EventOperation"/>) when it is an audit event whose payload is to be sealed; any other record as
    /// it is.</summary>
    /// <exception cref="FormatException">The event's payload does not parse (<see cref="ParsePayload"/>).</exception>
    public static WalRecord WithPlainHeader(WalRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Operation != WalOperation.AuditEvent || record.PayloadKeyId is null)
        {
            return record;
        }

        var (category, operation, _, _) = ParsePayload(record.Payload);
        return record with { EventCategory = AuditCategoryNames.ToName(category), EventOperation = operation };
    }

    // The event as its record holds it. A sealed event also carries its category and operation in plain: once its key is
    // destroyed (or unreadable here) the entry is built from those alone, with no image; with the payload at hand, the two
    // must agree (a header changed in the log is refused, as a payload that does not parse is).
    private static (AuditCategory Category, string Operation, JsonElement? Before, JsonElement? After) Parse(WalRecord record)
    {
        var header = record.EventCategory is { } headerCategory && record.EventOperation is { } headerOperation
            ? ((AuditCategory Category, string Operation)?)(ParseCategory(headerCategory), headerOperation)
            : null;
        if (header is { } known && OperationProblem(known.Operation) is { } badOperation)
        {
            throw new FormatException("An audit event's operation " + badOperation + ".");
        }

        if (record.PayloadUnavailable)
        {
            return header is { } h
                ? (h.Category, h.Operation, null, null)
                : throw new FormatException($"The sealed audit event at LSN {record.Lsn} cannot be opened and carries no plain category and operation.");
        }

        var parsed = ParsePayload(record.Payload);
        if (header is { } plain && (plain.Category != parsed.Category || !string.Equals(plain.Operation, parsed.Operation, StringComparison.Ordinal)))
        {
            throw new FormatException($"The audit event at LSN {record.Lsn} names {AuditCategoryNames.ToName(plain.Category)}/{plain.Operation} "
                + $"beside its sealed payload, which names {AuditCategoryNames.ToName(parsed.Category)}/{parsed.Operation}.");
        }

        return parsed;
    }

    private static AuditCategory ParseCategory(string category)
    {
        var parsed = AuditCategoryNames.Parse(category);
        return IsAllowed(parsed) ? parsed : throw new FormatException($"A custom audit event cannot have category '{category}'.");
    }

    /// <summary>The audit entry of an audit-event record: same id and timestamp as the record, its LSN and WAL record hash,
    /// the category, operation and images of its payload, a field-level diff of the images. A sealed event whose payload
    /// cannot be opened (its key destroyed) gets the category and operation of its plain copy and no images.</summary>
    /// <exception cref="ArgumentException">The record is not an audit event, or a required field is missing.</exception>
    /// <exception cref="FormatException">The payload does not parse (<see cref="ParsePayload"/>); the plain category or
    /// operation is invalid or disagrees with the payload; or an unopened sealed payload has no plain copy of them.</exception>
    public static AuditEntry ToEntry(WalRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Operation != WalOperation.AuditEvent)
        {
            throw new ArgumentException($"Record {record.Lsn} is a {record.Operation}, not an audit event.", nameof(record));
        }

        var (category, operation, before, after) = Parse(record);
        var beforeCopy = before?.Clone();
        var afterCopy = after?.Clone();
        var entry = new AuditEntry
        {
            Id = record.Id,
            Timestamp = record.Timestamp,
            Service = record.Service,
            Category = category,
            Operation = operation,
            UserId = record.UserId,
            DtoType = string.IsNullOrEmpty(record.DtoType) ? null : record.DtoType,
            EntityId = record.EntityId,
            Before = beforeCopy,
            After = afterCopy,
            Changes = beforeCopy is null && afterCopy is null ? [] : JsonDiff.Compute(beforeCopy, afterCopy),
            Reason = record.Reason,
            Metadata = record.Metadata is { Count: > 0 } metadata
                ? new SortedDictionary<string, string>(metadata.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal),
            RequestId = record.RequestId,
            Lsn = record.Lsn == Lsn.None ? null : record.Lsn,
            WalRecordHash = WalRecordHasher.Compute(record),
        };
        AuditEntryValidation.Validate(entry);
        return entry;
    }
}
