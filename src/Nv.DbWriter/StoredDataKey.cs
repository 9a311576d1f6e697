namespace Nv.DbWriter;

/// <summary>A data key as the key store holds it: wrapped by a master key, never in plain.</summary>
/// <remarks>Persisted type (SQLite table <c>_nv_keys</c>, MongoDB collection <c>_nv_keys</c>). A key is created
/// unassigned (<see cref="Subject"/> null, in the pool) and durably stored before any WAL record can name it; the database
/// writer assigns it to its subject in the same transaction as the first record sealed with it, and an erasure of the
/// subject deletes it.</remarks>
public sealed record StoredDataKey
{
    /// <summary>The data key's id (named by every value sealed with it).</summary>
    public required Guid KeyId { get; init; }

    /// <summary>The id of the master key that wrapped it (<c>IMasterKeyProvider.KeyId</c>).</summary>
    public required string MasterKeyId { get; init; }

    /// <summary>The wrapped key material.</summary>
    public required byte[] WrappedKey { get; init; }

    /// <summary>The data subject it seals (<c>dtoType/entityId</c>), or null while it waits in the pool.</summary>
    public string? Subject { get; init; }

    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}
