using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Support;

/// <summary>Data keys held in a dictionary: what the host's key ring provides, without a store (codec and WAL tests).</summary>
public sealed class InMemoryDataKeys : IDataKeyProvider
{
    private readonly ConcurrentDictionary<Guid, DataKey> _keys = new();

    public DataKey Add(DataKey? key = null)
    {
        key ??= DataKey.Generate();
        _keys[key.Id] = key;
        return key;
    }

    /// <summary>Destroys a key (what an erasure does to the key store).</summary>
    public void Destroy(Guid id) => _keys.TryRemove(id, out _);

    public bool TryGetKey(Guid keyId, [NotNullWhen(true)] out DataKey? key) => _keys.TryGetValue(keyId, out key);
}
