using System.Globalization;
using Nv.Audit;

namespace Nv.Host.Http.Ui;

/// <summary>Every field an audit entry's canonical encoding covers (docs/audit-hash-chain.md), without loss, so that a
/// client can rebuild the entry's canonical bytes itself and check them against the Merkle leaf, the chain hash and a
/// signed checkpoint (the audit explorer does this in the browser).</summary>
/// <remarks>Unlike <see cref="AuditEntryView"/>, absent and JSON <c>null</c> stay apart: JSON-valued fields are their JSON
/// text (<c>null</c> = absent, <c>"null"</c> = the JSON value null), the timestamp is the exact canonical text, and the
/// encoding version and WAL record hash are included. Nothing here is a verdict: the client computes the hashes.</remarks>
internal sealed record AuditLeafView
{
    public required string EntryId { get; init; }
    public required string Chain { get; init; }
    public required int Encoding { get; init; }
    public required string Id { get; init; }
    public required string Timestamp { get; init; }
    public required string Service { get; init; }
    public required string Category { get; init; }
    public required string Operation { get; init; }
    public string? UserId { get; init; }
    public string? DtoType { get; init; }
    public required string EntityId { get; init; }
    public string? Before { get; init; }
    public string? After { get; init; }
    public required IReadOnlyList<AuditLeafChangeView> Changes { get; init; }
    public string? Reason { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    public required string RequestId { get; init; }
    public long? Lsn { get; init; }
    public required long Sequence { get; init; }
    public required string PrevHash { get; init; }
    public string? WalRecordHash { get; init; }
    public string? KeyId { get; init; }
    public string? Sealed { get; init; }
    public required string Hash { get; init; }

    /// <summary>UTC with 7 fractional digits, as the canonical encoding writes it (docs/audit-hash-chain.md, field 2).</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static AuditLeafView From(AuditEntry entry) => new()
    {
        EntryId = entry.Id.ToString("D", CultureInfo.InvariantCulture),
        Chain = entry.Service,
        Encoding = entry.EncodingVersion,
        Id = entry.Id.ToString("D", CultureInfo.InvariantCulture),
        Timestamp = entry.Timestamp.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture),
        Service = entry.Service,
        Category = AuditCategoryNames.ToName(entry.Category),
        Operation = entry.Operation,
        UserId = entry.UserId,
        DtoType = entry.DtoType,
        EntityId = entry.EntityId,
        // A sealed entry (encoding 3) commits to its key id and ciphertext; its before, after and changes are not part of
        // its canonical bytes (absent, absent, []), whatever a reader could decrypt.
        Before = entry.KeyId is null ? entry.Before?.GetRawText() : null,
        After = entry.KeyId is null ? entry.After?.GetRawText() : null,
        Changes = entry.KeyId is null ? entry.Changes.Select(c => new AuditLeafChangeView(c.Path, c.Before?.GetRawText(), c.After?.GetRawText())).ToList() : [],
        Reason = entry.Reason,
        Metadata = entry.Metadata,
        RequestId = entry.RequestId,
        Lsn = entry.Lsn?.Value,
        Sequence = entry.Sequence,
        PrevHash = entry.PrevHash,
        WalRecordHash = entry.WalRecordHash,
        KeyId = entry.KeyId?.ToString("D"),
        Sealed = entry.Sealed is null ? null : Convert.ToBase64String(entry.Sealed),
        Hash = entry.Hash,
    };
}
