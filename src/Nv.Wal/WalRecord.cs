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

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata =
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(new Dictionary<string, string>());
}
