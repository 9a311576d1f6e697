using System.Diagnostics.CodeAnalysis;

namespace Nv.Wal.Protection;

/// <summary>Finds data keys by id, for sealing and opening payloads (the WAL's record codec, the audit trail).</summary>
/// <remarks>Implemented by the host's key ring over the database writer's key store. Thread-safe; a lookup the ring has
/// not cached reads the store (and may block).</remarks>
public interface IDataKeyProvider
{
    /// <summary>The key with this id, or false when it does not exist: destroyed by an erasure, or never stored.</summary>
    /// <exception cref="MasterKeyException">The key exists but the master key cannot unwrap it.</exception>
    bool TryGetKey(Guid keyId, [NotNullWhen(true)] out DataKey? key);
}
