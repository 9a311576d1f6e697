using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The data keys of encryption at rest, kept (wrapped) in the database writer's own store, and the erasures
/// that destroyed some of them.</summary>
/// <remarks>
/// Implemented by both writers (SQLite tables <c>_nv_keys</c>, <c>_nv_subjects</c>, <c>_nv_erasures</c>; MongoDB
/// collections of the same names), so a key's assignment to its subject and its destruction commit atomically with the
/// writes they belong to (<see cref="IDbWriter.ApplyAsync"/> assigns the key a record names and carries out
/// <c>WalOperation.Erase</c> records). Thread-safe. Back the key store up apart from the WAL and the audit store: a
/// backup of those holds only ciphertext, and a restored key store would bring erased subjects back.
/// </remarks>
public interface IDataKeyStore
{
    /// <summary>Stores new (unassigned) keys durably: once this returns they survive a power loss, so WAL records may
    /// name them.</summary>
    Task AddKeysAsync(IReadOnlyList<StoredDataKey> keys, CancellationToken cancellationToken = default);

    /// <summary>The stored keys among <paramref name="keyIds"/> (a destroyed or unknown id is simply absent).</summary>
    Task<IReadOnlyList<StoredDataKey>> FindKeysAsync(IReadOnlyCollection<Guid> keyIds, CancellationToken cancellationToken = default);

    /// <summary>The keys assigned to each of <paramref name="subjects"/>, newest first.</summary>
    Task<IReadOnlyList<StoredDataKey>> FindSubjectKeysAsync(IReadOnlyCollection<string> subjects, CancellationToken cancellationToken = default);

    /// <summary>The subject an entity was last written under, when it is not the entity itself (a subject taken from a
    /// payload field); null otherwise.</summary>
    Task<string?> FindEntitySubjectAsync(string dtoType, string entityId, CancellationToken cancellationToken = default);

    /// <summary>Maps each live entity of a mapped dtoType that the key store does not map to a subject (one written before
    /// the type was mapped to a payload field's subject) to the subject its stored payload names, and hands every key its
    /// own subject (<c>dtoType/entityId</c>) holds to that subject, so that subject's erasure deletes it and destroys its
    /// sealed history. A complete pass is recorded per rule and not repeated (every later write of a mapped type names its
    /// subject); the record of a rule not in <paramref name="rules"/> is forgotten, so a rule dropped and set again gets a
    /// new pass. A crash leaves entities mapped or not, never half (SQLite: a durable transaction per chunk; MongoDB: the
    /// keys handed over before the mapping is written), and the next start maps the rest. Call only when no WAL record
    /// waits to be applied (after boot replay, before writes). Applying an update that maps an entity hands its own keys
    /// over the same way.</summary>
    /// <param name="rules">Every subject mapping the host runs with (none: only forgets the recorded passes).</param>
    /// <param name="cancellationToken">Stops between chunks.</param>
    Task<IReadOnlyList<StoredEntityMapping>> MapStoredEntitiesAsync(IReadOnlyList<SubjectMappingRule> rules, CancellationToken cancellationToken = default);

    /// <summary>Deletes every key never assigned to a subject. Call only when no WAL record waits to be applied (after
    /// boot replay, before writes): such keys are then named by nothing but cut WAL tails.</summary>
    /// <returns>How many were deleted.</returns>
    Task<long> DeleteUnassignedKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Counts of keys and erasures.</summary>
    Task<DataKeyStatistics> GetKeyStatisticsAsync(CancellationToken cancellationToken = default);

    /// <summary>The most recent erasures, newest first.</summary>
    Task<IReadOnlyList<SubjectErasure>> GetErasuresAsync(int limit, CancellationToken cancellationToken = default);

    /// <summary>The erasure the erase record at <paramref name="lsn"/> carried out (what it destroyed, as recorded when it
    /// was first applied: a replay or a retry reads the same counts), or null when no erasure is recorded at that LSN.</summary>
    Task<SubjectErasure?> FindErasureAsync(Lsn lsn, CancellationToken cancellationToken = default);

    /// <summary>Re-wraps every key wrapped by <paramref name="fromMasterKeyId"/> (master key rotation): each batch is
    /// one durable transaction, so a crash leaves every key wrapped by one master key or the other, and a second run
    /// finishes the job. Payloads are not touched.</summary>
    /// <param name="fromMasterKeyId">The old master key's id.</param>
    /// <param name="toMasterKeyId">The new master key's id.</param>
    /// <param name="rewrap">Unwraps with the old master key and wraps with the new one.</param>
    /// <param name="progress">Receives the running count after each batch.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>How many keys were re-wrapped.</returns>
    Task<long> RewrapKeysAsync(string fromMasterKeyId, string toMasterKeyId, Func<StoredDataKey, byte[]> rewrap, Action<long>? progress = null,
        CancellationToken cancellationToken = default);

    /// <summary>Leaves no erased content in the store's files: a durable point, then everything the store keeps beside
    /// its data file folded into it and discarded (SQLite: a <c>TRUNCATE</c> checkpoint of its WAL file; deleted rows are
    /// already overwritten with zeros, <c>secure_delete</c>).</summary>
    /// <returns>False when erased content may remain in the store's files: a reader held the store's WAL file and it could
    /// not be emptied yet (retry later), or the store cannot be scrubbed from a client at all (MongoDB, see
    /// <see cref="UnscrubbedDetail"/>).</returns>
    Task<bool> ScrubAsync(CancellationToken cancellationToken = default);

    /// <summary>What an erasure's caller is told when <see cref="ScrubAsync"/> returned false: where erased content may
    /// remain and what to do about it; null for the default (a reader held the embedded store's WAL file).</summary>
    string? UnscrubbedDetail => null;
}
