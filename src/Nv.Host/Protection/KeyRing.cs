using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Wal.Protection;

namespace Nv.Host.Protection;

/// <summary>The data keys of encryption at rest, in memory: unwrapped keys by id (for the WAL's record codec and the audit
/// trail), each subject's current key (for new writes), a pool of keys created ahead of use, and the erasures in flight.</summary>
/// <remarks>
/// Durability: a WAL record may name a key only once the key store holds it durably; new keys are therefore created in
/// batches (<see cref="EncryptionOptions.KeyPoolSize"/>) and stored with one durable commit, off the callers' path, before
/// any is handed out. A key is assigned to its subject by the database writer in the apply transaction of the first
/// record sealed with it; until then it is "pending" here. Keys never assigned (a crash before their record was durable)
/// are deleted after boot replay (<see cref="StartWritingAsync"/>), so no key is ever reused for another subject.
/// Erasure order: the commit stage calls <see cref="BeginErase"/> when it appends the erase record, so a write after it
/// takes a new key (which the erasure, applied in LSN order, never sees); once the erase record is applied,
/// <see cref="AfterApplyAsync"/> drops the destroyed keys from memory. Threading: <see cref="TryGetKey"/> is called from any
/// thread; subject bookkeeping is under one lock; the commit stage is the only caller of <see cref="KeyForAsync"/> and
/// <see cref="BeginErase"/>.
/// </remarks>
internal sealed partial class KeyRing : IDataKeyProvider, IDisposable
{
    private readonly IMasterKeyProvider? _master;
    private readonly IDataKeyStore? _store;
    private readonly EncryptionOptions _options;
    private readonly ILogger _logger;
    private readonly bool _ownsMaster;
    private readonly ConcurrentDictionary<Guid, Entry> _keys = new();
    private int _cachedKeys; // _keys' size: ConcurrentDictionary.Count takes every bucket lock (up to 1024), per new key
    private readonly ConcurrentDictionary<Guid, byte> _destroyed = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Guid> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _erasing = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, string> _pending = [];
    private readonly UnappliedMappedWrites _unapplied = new();
    private readonly ConcurrentQueue<DataKey> _pool = new();
    private long _erasuresApplied; // under _gate: erasures whose destroyed keys AfterApplyAsync dropped from memory
    private readonly HashSet<string> _storedNone = new(StringComparer.Ordinal); // commit stage only: subjects without a stored key, this batch
    private readonly SemaphoreSlim _refillGate = new(1, 1);
    private Task _refill = Task.CompletedTask;

    public KeyRing(IOptions<EncryptionOptions> options, Nv.DbWriter.IDbWriter writer, ILogger<KeyRing>? logger = null, IMasterKeyProvider? master = null)
        : this(options.Value, writer as IDataKeyStore, logger, master)
    {
    }

    internal KeyRing(EncryptionOptions options, IDataKeyStore? store, ILogger? logger, IMasterKeyProvider? master)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _store = store;
        _logger = logger ?? NullLogger.Instance;
        if (master is null && !string.IsNullOrWhiteSpace(options.MasterKeyFile))
        {
            master = FileMasterKeyProvider.Open(options.MasterKeyFile);
            _ownsMaster = true;
        }

        _master = master;
        Subjects = new SubjectResolver(options);
    }

    /// <summary>Whether encryption at rest is on (a master key is configured).</summary>
    public bool Enabled => _master is not null;

    /// <summary>The master key's id, when on.</summary>
    public string? MasterKeyId => _master?.KeyId;

    public SubjectResolver Subjects { get; }

    /// <summary>Checks the master key against the key store before anything is decrypted or written.</summary>
    /// <exception cref="MasterKeyException">Encryption is on and the store's keys are wrapped by another master key (or the
    /// writer keeps no keys), or it is off while the store holds keys.</exception>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            if (Enabled)
            {
                throw new MasterKeyException("Encryption at rest is configured, but the database writer keeps no data keys.");
            }

            return;
        }

        var stats = await _store.GetKeyStatisticsAsync(cancellationToken);
        var total = stats.AssignedKeys + stats.PoolKeys;
        if (!Enabled)
        {
            if (total > 0)
            {
                throw new MasterKeyException(
                    $"The key store holds {total} data keys wrapped by master key {string.Join(", ", stats.KeysByMasterKey.Keys)}, so the WAL and the audit trail hold "
                    + "encrypted data; set NV_MASTER_KEY_FILE (Nv:Encryption:MasterKeyFile) to that master key.");
            }

            return;
        }

        var foreign = stats.KeysByMasterKey.Where(p => !string.Equals(p.Key, _master!.KeyId, StringComparison.Ordinal)).ToList();
        if (foreign.Count > 0)
        {
            var source = _master is FileMasterKeyProvider file ? "the master key file " + file.Source : "the configured master key provider";
            throw new MasterKeyException(
                $"{foreign.Sum(p => p.Value)} of the key store's {total} data keys are wrapped by master key {string.Join(", ", foreign.Select(p => p.Key))}, but {source} holds "
                + $"{_master!.KeyId}: start with the master key that wraps them (or finish nv keys rotate-master).");
        }

        Log.KeyRingOpened(_logger, _master!.KeyId, stats.AssignedKeys, stats.Subjects, stats.Erasures);
    }

    /// <summary>After boot replay, before the first write: deletes keys no durable record names, scrubs the store and
    /// fills the pool.</summary>
    /// <remarks>The scrub finishes an erasure the process died in the middle of (after the erasure was durable, before its
    /// scrub), or that boot replay just applied: until then the store's own WAL file may still hold the erased rows'
    /// old page images. It is one checkpoint, cheap at start.</remarks>
    public async Task StartWritingAsync(CancellationToken cancellationToken)
    {
        if (!Enabled || _store is null)
        {
            return;
        }

        await MapStoredEntitiesAsync(cancellationToken);
        await _store.DeleteUnassignedKeysAsync(cancellationToken);
        await _store.ScrubAsync(cancellationToken);
        await RefillAsync(cancellationToken);
    }

    // Entities written before their type was mapped to a payload field's subject (Nv:Encryption:Subjects set later) are
    // mapped to the subject their stored payload names, with their own keys, before any write: else that subject's erasure
    // would leave them live and their sealed history readable, and a delete of one would be sealed under a key no erasure
    // reaches. Keys boot replay read are held under their old subject: forgotten (read again when needed).
    private async Task MapStoredEntitiesAsync(CancellationToken cancellationToken)
    {
        var rules = Subjects.MappedTypes.Select(dtoType =>
        {
            var (type, field) = Subjects.RuleFor(dtoType)!.Value;
            return new SubjectMappingRule
            {
                DtoType = dtoType,
                Rule = type + ":" + field,
                Field = field,
                SubjectOf = payload => Subjects.SubjectNamedBy(dtoType, payload),
            };
        }).ToList();
        var mapped = 0L;
        foreach (var result in await _store!.MapStoredEntitiesAsync(rules, cancellationToken))
        {
            mapped += result.Mapped;
            if (result.Unnamed > 0)
            {
                var (type, field) = Subjects.RuleFor(result.DtoType)!.Value;
                Log.StoredEntitiesUnnamed(_logger, result.Unnamed, result.DtoType, type, field);
            }
        }

        if (mapped > 0)
        {
            Trim();
        }
    }

    public bool TryGetKey(Guid keyId, [NotNullWhen(true)] out DataKey? key)
    {
        if (_keys.TryGetValue(keyId, out var entry))
        {
            key = entry.Key;
            return true;
        }

        key = null;
        if (_master is null || _store is null || _destroyed.ContainsKey(keyId))
        {
            return false;
        }

        // A key this process has not used yet: read and unwrap it (synchronously: the WAL's codec is; SQLite is anyway).
        // An erasure applied while the read was on its way may have destroyed it after it was read, and found nothing of
        // it in memory to forget: then read again rather than keep a destroyed key (see AfterApplyAsync).
        while (true)
        {
            var epoch = Volatile.Read(ref _erasuresApplied);
            var stored = _store.FindKeysAsync([keyId]).GetAwaiter().GetResult();
            if (stored.Count == 0)
            {
                _destroyed.TryAdd(keyId, 0); // keys are stored before any record names them: absent means destroyed
                return false;
            }

            var unwrapped = Unwrap(stored[0]);
            lock (_gate)
            {
                if (_erasuresApplied == epoch)
                {
                    key = Remember(unwrapped, stored[0].Subject);
                    return true;
                }
            }

            unwrapped.Dispose();
        }
    }

    /// <summary>Unwraps a stored key.</summary>
    /// <exception cref="MasterKeyException">The master key cannot unwrap it.</exception>
    public DataKey Unwrap(StoredDataKey stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var material = _master!.Unwrap(stored.MasterKeyId, stored.KeyId, stored.WrappedKey);
        try
        {
            return DataKey.FromKeyMaterial(stored.KeyId, material);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private DataKey Remember(DataKey key, string? subject)
    {
        if (Volatile.Read(ref _cachedKeys) >= _options.KeyCacheSize)
        {
            Trim();
        }

        var kept = _keys.GetOrAdd(key.Id, new Entry(key, subject)).Key;
        if (ReferenceEquals(kept, key))
        {
            Interlocked.Increment(ref _cachedKeys);
        }
        else
        {
            key.Dispose(); // the same key read twice: the copy in memory serves, this one's material is zeroed
        }

        return kept;
    }

    // Over the cache size: forget every key that is not pending assignment (they are read again when needed), and every
    // subject whose current key was forgotten. Rare: the cache holds the working set of subjects.
    private void Trim()
    {
        lock (_gate)
        {
            foreach (var id in _keys.Keys)
            {
                if (!_pending.ContainsKey(id))
                {
                    Forget(id);
                }
            }

            // Keep exactly the subjects whose current key stayed (a pending one): rebuilding the map from the pending keys
            // could point a subject back at an older pending key that an erasure appended since will destroy.
            foreach (var (subject, id) in _subjects.ToList())
            {
                if (!_keys.ContainsKey(id))
                {
                    _subjects.Remove(subject);
                }
            }
        }
    }

    private void Forget(Guid id)
    {
        if (_keys.TryRemove(id, out _))
        {
            Interlocked.Decrement(ref _cachedKeys);
        }
    }

    /// <summary>Keys held in memory (tests).</summary>
    internal int CachedKeys => Volatile.Read(ref _cachedKeys);

    public void Dispose()
    {
        _refillGate.Dispose();
        if (_ownsMaster && _master is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private sealed record Entry(DataKey Key, string? Subject);
}
