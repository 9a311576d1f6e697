using System.Text.Json;
using Nv.Audit;

namespace Nv.Host.Http;

/// <summary>The JSON shape of an audit entry in the HTTP API and in <c>nv audit ... --json</c>.</summary>
public sealed record AuditEntryView
{
    /// <summary>The entry id.</summary>
    public required Guid Id { get; init; }
    /// <summary>Position in its chain (1-based).</summary>
    public required long Sequence { get; init; }
    /// <summary>When the audited event happened (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>The service, also the chain id.</summary>
    public required string Service { get; init; }
    /// <summary>The category name (e.g. <c>entity-mutation</c>).</summary>
    public required string Category { get; init; }
    /// <summary>The operation.</summary>
    public required string Operation { get; init; }
    /// <summary>Who, if known.</summary>
    public string? UserId { get; init; }
    /// <summary>The entity type, for entity mutations.</summary>
    public string? DtoType { get; init; }
    /// <summary>The entity (or subject) id.</summary>
    public required string EntityId { get; init; }
    /// <summary>The request that caused the event.</summary>
    public required string RequestId { get; init; }
    /// <summary>The WAL record's LSN, for entity mutations.</summary>
    public long? Lsn { get; init; }
    /// <summary>Why, if given.</summary>
    public string? Reason { get; init; }
    /// <summary>Free-form metadata.</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// <summary>State before.</summary>
    public JsonElement? Before { get; init; }
    /// <summary>State after.</summary>
    public JsonElement? After { get; init; }
    /// <summary>Field-level differences.</summary>
    /// <summary>Field-level differences.</summary>
    public required IReadOnlyList<FieldChangeView> Changes { get; init; }
    /// <summary>Hash of the previous entry in the chain.</summary>
    public required string PrevHash { get; init; }
    /// <summary>This entry's chain hash.</summary>
    public required string Hash { get; init; }
    /// <summary>Encryption at rest: the data key its before, after and changes are sealed under; null for a plain entry.</summary>
    public Guid? KeyId { get; init; }
    /// <summary>True when the entry is sealed and its data can no longer be read: its subject was erased (the key destroyed).
    /// Its hash and proofs still verify.</summary>
    public bool Erased { get; init; }
    /// <summary>The sealed before/after/changes (standard base64) of a sealed entry whose data is not shown: erased, or read
    /// without the master key (operator tools). Null when the data is shown or the entry is plain.</summary>
    public string? Ciphertext { get; init; }

    /// <summary>The view of a stored entry.</summary>
    public static AuditEntryView From(AuditEntry entry) => new()
    {
        Id = entry.Id,
        Sequence = entry.Sequence,
        Timestamp = entry.Timestamp,
        Service = entry.Service,
        Category = AuditCategoryNames.ToName(entry.Category),
        Operation = entry.Operation,
        UserId = entry.UserId,
        DtoType = entry.DtoType,
        EntityId = entry.EntityId,
        RequestId = entry.RequestId,
        Lsn = entry.Lsn?.Value,
        Reason = entry.Reason,
        Metadata = entry.Metadata,
        Before = entry.Before,
        After = entry.After,
        Changes = entry.Changes.Select(c => new FieldChangeView(c.Path, c.Before, c.After)).ToList(),
        PrevHash = entry.PrevHash,
        Hash = entry.Hash,
        KeyId = entry.KeyId,
        Erased = entry.Erased,
        Ciphertext = entry.KeyId is not null && entry.Sealed is { } sealedData && entry.Before is null && entry.After is null && entry.Changes.Count == 0
            ? Convert.ToBase64String(sealedData)
            : null,
    };
}
