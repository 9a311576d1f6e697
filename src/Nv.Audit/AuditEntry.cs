using System.Text.Json;
using Nv.Wal;

namespace Nv.Audit;

/// <summary>One immutable audit entry: who changed what, when and why.</summary>
/// <remarks>Persisted wire type. <see cref="Sequence"/>, <see cref="PrevHash"/> and <see cref="Hash"/> are assigned by
/// the sink when the entry is appended to its chain; they are empty before that.</remarks>
public sealed record AuditEntry
{
    /// <summary>Entry id; for entity mutations it equals the WAL record id, which makes backfill idempotent.</summary>
    public required Guid Id { get; init; }

    /// <summary>When the audited event happened (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The service the event belongs to; also the hash chain's id.</summary>
    public required string Service { get; init; }

    /// <summary>Event category.</summary>
    public required AuditCategory Category { get; init; }

    /// <summary>The operation, e.g. <c>create</c>, <c>update</c>, <c>delete</c>, <c>service-start</c>.</summary>
    public required string Operation { get; init; }

    /// <summary>Who, if known.</summary>
    public string? UserId { get; init; }

    /// <summary>Entity type, for entity mutations.</summary>
    public string? DtoType { get; init; }

    /// <summary>Entity id (required; for system events, the subject, e.g. the service name).</summary>
    public required string EntityId { get; init; }

    /// <summary>State before.</summary>
    public JsonElement? Before { get; init; }

    /// <summary>State after.</summary>
    public JsonElement? After { get; init; }

    /// <summary>Field-level differences between <see cref="Before"/> and <see cref="After"/>.</summary>
    public IReadOnlyList<FieldChange> Changes { get; init; } = [];

    /// <summary>Why, if given.</summary>
    public string? Reason { get; init; }

    /// <summary>Free-form metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The request that caused the event (required).</summary>
    public required string RequestId { get; init; }

    /// <summary>The WAL record's LSN, for entity mutations.</summary>
    public Lsn? Lsn { get; init; }

    /// <summary>Hex SHA-256 of the WAL record's canonical bytes (<see cref="WalRecordHasher"/>), for entity mutations; null for
    /// system events. Covered by the hash chain and the Merkle tree from encoding version 2 on.</summary>
    public string? WalRecordHash { get; init; }

    /// <summary>The canonical encoding version the entry is hashed with (1, 2 or 3); 0 before it is appended, when the sink
    /// assigns the version it needs (docs/audit-hash-chain.md).</summary>
    public int EncodingVersion { get; init; }

    /// <summary>Encryption at rest: the data key <see cref="Before"/>, <see cref="After"/> and <see cref="Changes"/> are
    /// sealed under (the entry's subject's key); null for an entry stored in plain.</summary>
    /// <remarks>A sealed entry is hashed with encoding version 3 over <see cref="KeyId"/> and <see cref="Sealed"/> (the
    /// ciphertext), never over the plaintext: destroying the key (erasure) leaves its hash, its Merkle leaf and every proof
    /// that covers it valid. See <see cref="AuditEntrySealing"/>.</remarks>
    public Guid? KeyId { get; init; }

    /// <summary>The sealed before, after and changes (<see cref="Nv.Wal.Protection.DataKey"/> format) when
    /// <see cref="KeyId"/> is set; null when the key was already destroyed when the entry was written (its data was erased
    /// before it could be audited).</summary>
    public byte[]? Sealed { get; init; }

    /// <summary>True when the entry is sealed and its data cannot be read any more: its key was destroyed by an erasure of
    /// its subject (or no master key is available to the reader). Set by readers; not stored, not hashed.</summary>
    public bool Erased { get; init; }

    /// <summary>Position in the chain (1-based), assigned on append.</summary>
    public long Sequence { get; init; }

    /// <summary>Hash of the previous entry in the chain (hex SHA-256; 64 zeros for the first), assigned on append.</summary>
    public string PrevHash { get; init; } = string.Empty;

    /// <summary>SHA-256 over <see cref="PrevHash"/> and this entry's canonical bytes (hex), assigned on append.</summary>
    public string Hash { get; init; } = string.Empty;
}
