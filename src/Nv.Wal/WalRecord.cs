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

    /// <summary>For an <see cref="WalOperation.AuditEvent"/> record whose payload is sealed: the event's category, kept in
    /// plain beside the sealed payload (which holds it too) so that its audit entry can still be built and shown once the
    /// key is destroyed; null otherwise.</summary>
    /// <remarks>Written only together with <see cref="EventOperation"/>; a record carrying them is refused by builds that
    /// predate them.</remarks>
    public string? EventCategory { get; init; }

    /// <summary>For an <see cref="WalOperation.AuditEvent"/> record whose payload is sealed: the event's operation, in plain
    /// like <see cref="EventCategory"/>; null otherwise.</summary>
    public string? EventOperation { get; init; }

    /// <summary>The payload as sealed in the log (version, flags, nonce, tag, ciphertext) when <see cref="PayloadKeyId"/> is
    /// set; empty otherwise. Set by the log on append and on read.</summary>
    /// <remarks>Audit entries commit to these bytes rather than to the plaintext, so their hashes stay verifiable after the
    /// key is destroyed.</remarks>
    public ReadOnlyMemory<byte> SealedPayload { get; init; }

    /// <summary>True when the payload is sealed and its key was not available when the record was read: the subject was
    /// erased (the key destroyed), or no master key is configured. <see cref="Payload"/> is then undefined.</summary>
    public bool PayloadUnavailable { get; init; }

    /// <summary>For a <see cref="WalOperation.Batch"/> record, its ordered items (at least one, each entity at most once);
    /// null for a single-entity record.</summary>
    /// <remarks>A batch record is one WAL record: one frame, one CRC, one LSN, so it is durable (and replayed) whole or not
    /// at all. Its own <see cref="Version"/> is 0 and <see cref="DtoType"/>, <see cref="EntityId"/> and
    /// <see cref="ReplayKey"/> are empty, <see cref="Payload"/> is undefined and <see cref="ExpectedLsn"/> null: each item
    /// carries its own (and its own replay key, <c>env:slug:version:dtoType:entityId</c>).
    /// Why one LSN for the whole batch rather than consecutive LSNs committed together: everything keyed by LSN stays
    /// exact without a notion of "part of a batch" — the request id names one record, the database stores one outcome
    /// per LSN in the same transaction as the writes, the applied and audited watermarks and WAL truncation move per
    /// record, and replay after a crash meets the batch as one record that is either resolved (its stored outcome is
    /// returned) or not (it is applied whole); consecutive LSNs would need every one of those to learn where a batch
    /// ends, and a crash between them would leave LSNs that are only half of something. The page-LSN rule stays exact per
    /// entity slot because an entity appears at most once per batch: every slot the batch writes carries the batch's LSN,
    /// which is that entity's new version (ETag), and a later record always has a higher one.</remarks>
    public IReadOnlyList<WalBatchItem>? Items { get; init; }

    /// <summary>The single-entity records this record stands for: itself, or for a batch one record per item, in order.</summary>
    /// <remarks>An item's record has the batch's LSN, service, timestamp, request id, user, reason and metadata, and the
    /// item's id, operation, DTO version, type, entity id, payload, replay key and expected LSN. Writers apply these, the
    /// audit trail records one entry per applied one and the change feed publishes them.</remarks>
    public IReadOnlyList<WalRecord> EntityChanges()
    {
        if (Items is not { } items)
        {
            return [this];
        }

        var changes = new WalRecord[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            changes[i] = new WalRecord
            {
                Id = item.Id,
                Lsn = Lsn,
                Service = Service,
                Version = item.Version,
                Timestamp = Timestamp,
                Operation = item.Operation,
                DtoType = item.DtoType,
                EntityId = item.EntityId,
                Payload = item.Payload,
                ReplayKey = item.ReplayKey,
                RequestId = RequestId,
                UserId = UserId,
                Reason = Reason,
                Metadata = Metadata,
                ExpectedLsn = item.ExpectedLsn,
                PayloadKeyId = item.PayloadKeyId,
                Subject = item.Subject,
                SealedPayload = item.SealedPayload,
                PayloadUnavailable = item.PayloadUnavailable,
            };
        }

        return changes;
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());
}
