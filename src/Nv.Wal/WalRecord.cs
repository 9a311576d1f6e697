using System.Text.Json;

namespace Nv.Wal;

/// <summary>One mutation as persisted in the write-ahead log.</summary>
/// <remarks>This is a persisted wire type: it is framed, checksummed and stored by the log, and read back
/// byte-for-byte equivalent. Everything the database write and the audit entry need after a crash is in it.</remarks>
public sealed record WalRecord
{
    /// <summary>Unique record id (UUIDv7); the audit entry for this record derives its id from it.</summary>
    public required Guid Id { get; init; }

    /// <summary>Position in the log, assigned by <see cref="IWriteAheadLog.AppendAsync"/>; <see cref="Lsn.None"/> before that.</summary>
    public Lsn Lsn { get; init; }

    /// <summary>The service that issued the write.</summary>
    public required string Service { get; init; }

    /// <summary>Schema version of the DTO type.</summary>
    public required int Version { get; init; }

    /// <summary>When the write was accepted (UTC).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Create, update or delete.</summary>
    public required WalOperation Operation { get; init; }

    /// <summary>The entity type (one table or collection per type).</summary>
    public required string DtoType { get; init; }

    /// <summary>The entity id within its type.</summary>
    public required string EntityId { get; init; }

    /// <summary>The entity state after the write (a JSON object; empty for deletes).</summary>
    public required JsonElement Payload { get; init; }

    /// <summary>Deterministic identity of the target slot, see <see cref="Nv.Wal.ReplayKey"/>.</summary>
    public required string ReplayKey { get; init; }

    /// <summary>The caller's request id; a retry with the same id never writes twice.</summary>
    public required string RequestId { get; init; }

    /// <summary>Who made the change, if known.</summary>
    public string? UserId { get; init; }

    /// <summary>Why the change was made, if given.</summary>
    public string? Reason { get; init; }

    /// <summary>Free-form string metadata carried to the audit entry.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    /// <summary>When set, the write applies only if the stored entity was last written at this LSN (optimistic concurrency).</summary>
    public Lsn? ExpectedLsn { get; init; }

    /// <summary>The fingerprint of the request that carried this record: 64 lowercase hex digits (a SHA-256 over the
    /// request's method, dtoType, entity id and body hash), or null when unknown (records written before it existed).</summary>
    /// <remarks>Stored with the request id's outcome, so a retry that reuses the id for a different request is refused
    /// (HTTP 422), also after a restart or a crash between the WAL and the database.</remarks>
    public string? Fingerprint { get; init; }

    /// <summary>The data key this record's payload is sealed with in the log (AES-256-GCM), or null when the payload is
    /// stored in plain (encryption at rest off, or a record written before it was on).</summary>
    /// <remarks>Set by the writer before <see cref="IWriteAheadLog.AppendAsync"/>: the log seals <see cref="Payload"/> with
    /// that key (which its <see cref="Protection.IDataKeyProvider"/> must hold). On read, when the key no longer exists (its
    /// subject was erased) or no master key is configured, <see cref="Payload"/> is undefined and
    /// <see cref="PayloadUnavailable"/> is true; the sealed bytes are still in <see cref="SealedPayload"/>.</remarks>
    public Guid? PayloadKeyId { get; init; }

    /// <summary>The data subject this record's payload belongs to (<c>dtoType/entityId</c>: the entity itself by default, or
    /// the subject a payload field names), or null when the payload is not sealed. For an
    /// <see cref="WalOperation.Erase"/> record, the subject being erased.</summary>
    /// <remarks>The database writer assigns <see cref="PayloadKeyId"/> to this subject in the same transaction as the write,
    /// so an erasure of the subject destroys every key its records were sealed with.</remarks>
    public string? Subject { get; init; }

    /// <summary>The payload as sealed in the log (version, flags, nonce, tag, ciphertext) when <see cref="PayloadKeyId"/> is
    /// set; empty otherwise. Set by the log on append and on read.</summary>
    /// <remarks>Audit entries commit to these bytes rather than to the plaintext, so their hashes stay verifiable after the
    /// key is destroyed.</remarks>
    public ReadOnlyMemory<byte> SealedPayload { get; init; }

    /// <summary>True when the payload is sealed and its key was not available when the record was read: the subject was
    /// erased (the key destroyed), or no master key is configured. <see cref="Payload"/> is then undefined.</summary>
    public bool PayloadUnavailable { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());
}
