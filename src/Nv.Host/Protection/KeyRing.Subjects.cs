using Nv.DbWriter;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Host.Protection;

internal sealed partial class KeyRing
{
    /// <summary>The key each subject's next payload is sealed with: its current key (read from the store on first use), or a
    /// new key from the pool (pending until the record that names it is applied). Called by the commit stage only, in
    /// append order, with the subjects of the writes it is about to append (erasures are handled by
    /// <see cref="BeginErase"/>, in the same order).</summary>
    public async Task<Guid> KeyForAsync(string subject, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_subjects.TryGetValue(subject, out var id) && _keys.ContainsKey(id))
            {
                return id;
            }
        }

        var erasing = false;
        lock (_gate)
        {
            erasing = _erasing.ContainsKey(subject);
        }

        if (!erasing && _store is not null && !_storedNone.Contains(subject))
        {
            // The subject's current key, unless an erasure of it is on its way: that erasure will destroy it.
            var stored = await _store.FindSubjectKeysAsync([subject], cancellationToken);
            if (stored.Count > 0 && Adopt(stored[0], subject) is { } current)
            {
                return current;
            }
        }

        var fresh = await TakePoolKeyAsync(cancellationToken);
        lock (_gate)
        {
            _pending[fresh.Id] = subject;
            _subjects[subject] = fresh.Id;
        }

        Remember(fresh, subject);
        return fresh.Id;
    }

    /// <summary>Looks up, in one query, the stored keys of the subjects the commit stage is about to ask
    /// <see cref="KeyForAsync"/> for and does not hold yet: those with a key are remembered as a lookup by
    /// <see cref="KeyForAsync"/> would, and those without one (new subjects: every create of a new entity) are answered
    /// from this lookup instead of one query each, until <see cref="EndLookups"/>. Commit stage only, per batch.</summary>
    /// <remarks>Sound because only the commit stage hands keys to subjects and only the apply stage stores their
    /// assignment, which follows the appends of this batch: no key of these subjects can be stored in between.</remarks>
    public async Task LookUpAsync(IReadOnlyCollection<string> subjects, CancellationToken cancellationToken)
    {
        if (_store is null || subjects.Count == 0)
        {
            return;
        }

        var unknown = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var subject in subjects)
            {
                if (!(_subjects.TryGetValue(subject, out var id) && _keys.ContainsKey(id)) && !_erasing.ContainsKey(subject))
                {
                    unknown.Add(subject);
                }
            }
        }

        if (unknown.Count == 0)
        {
            return;
        }

        var stored = await _store.FindSubjectKeysAsync(unknown, cancellationToken);
        foreach (var key in stored)
        {
            // Newest first: a subject's first row is its current key, as KeyForAsync takes it.
            if (key.Subject is { } subject && unknown.Remove(subject))
            {
                Adopt(key, subject);
            }
        }

        _storedNone.UnionWith(unknown);
    }

    // A subject's stored current key becomes its key in memory, unless an erasure of the subject is on its way (that
    // erasure destroys it): then null.
    private Guid? Adopt(StoredDataKey stored, string subject)
    {
        var key = Remember(Unwrap(stored), subject);
        lock (_gate)
        {
            if (_erasing.ContainsKey(subject))
            {
                return null;
            }

            _subjects[subject] = key.Id;
            return key.Id;
        }
    }

    /// <summary>The commit stage's batch is appended: what <see cref="LookUpAsync"/> found absent is no longer vouched for.</summary>
    public void EndLookups() => _storedNone.Clear();

    /// <summary>The commit stage appends an erase record for <paramref name="subject"/>: writes appended after it get a new
    /// key (the erasure destroys every key the subject had when it is applied, and is applied before them).</summary>
    public void BeginErase(string subject)
    {
        lock (_gate)
        {
            _subjects.Remove(subject);
            _erasing[subject] = _erasing.GetValueOrDefault(subject) + 1;
        }
    }

    /// <summary>The erase record <see cref="BeginErase"/> announced was not appended after all (its batch failed before
    /// the append): the subject's stored keys are its current keys again.</summary>
    public void CancelErase(string subject)
    {
        lock (_gate)
        {
            EndErasing(subject);
        }
    }

    /// <summary>The commit stage appended <paramref name="record"/>: a create or update of a mapped type may change the
    /// subject its entity is stored under (see <see cref="UnappliedMappedWrites"/>) until it is applied.</summary>
    public void Appended(WalRecord record)
    {
        if (Enabled && Subjects.HasRules)
        {
            _unapplied.Appended(record, Subjects);
        }
    }

    /// <summary>The subjects the appended, unapplied creates and updates of this entity of a mapped type name, or null when
    /// it has none: while one names another subject than the store holds, that stored subject may be about to change.</summary>
    public string[]? UnappliedSubjects(string dtoType, string entityId) => _unapplied.SubjectsOf(dtoType, entityId);

    /// <summary>A chunk of records was applied (committed): their keys are assigned now, and for each erasure applied the
    /// destroyed keys leave memory (a key of the subject that is still pending, taken after the erasure, stays).</summary>
    public async Task AfterApplyAsync(IReadOnlyList<WalRecord> records, IReadOnlyList<ApplyResult> results, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        List<string>? erased = null;
        lock (_gate)
        {
            for (var i = 0; i < records.Count; i++)
            {
                var record = records[i];
                if (results[i].Status == ApplyStatus.Transient)
                {
                    continue;
                }

                if (Subjects.HasRules)
                {
                    _unapplied.Applied(record, Subjects);
                }

                if (record.Operation == WalOperation.Erase && record.Subject is { } subject)
                {
                    (erased ??= []).Add(subject);
                }
                else if (record.PayloadKeyId is { } id)
                {
                    _pending.Remove(id);
                }
                else if (record.Items is { } items)
                {
                    // A batch record names its keys per item: each is assigned in the batch's transaction.
                    foreach (var item in items)
                    {
                        if (item.PayloadKeyId is { } itemKey)
                        {
                            _pending.Remove(itemKey);
                        }
                    }
                }
            }
        }

        if (erased is null)
        {
            return;
        }

        foreach (var subject in erased)
        {
            var alive = _store is null ? [] : (await _store.FindSubjectKeysAsync([subject], cancellationToken)).Select(k => k.KeyId).ToHashSet();
            // A key held here under the own subject of a mapped type's entity may have been handed to the subject that
            // entity is mapped to since it was read (IDataKeyStore.MapStoredEntitiesAsync): whether the store still holds it.
            var handed = _keys.Where(p => HeldUnderMappedEntity(p.Value)).Select(p => p.Key).ToHashSet();
            var kept = handed.Count == 0 || _store is null ? [] : (await _store.FindKeysAsync(handed, cancellationToken)).Select(k => k.KeyId).ToHashSet();
            lock (_gate)
            {
                _erasuresApplied++; // a key read from the store before the erasure committed is read again (TryGetKey)
                foreach (var (id, entry) in _keys)
                {
                    // A key held under a mapped entity's own subject that the store no longer holds was destroyed; one read
                    // since the store was asked is forgotten too (read again when needed), since it may have been.
                    var ofErased = string.Equals(entry.Subject, subject, StringComparison.Ordinal);
                    var own = !ofErased && (handed.Contains(id) || HeldUnderMappedEntity(entry));
                    var gone = ofErased ? !alive.Contains(id) : own && !kept.Contains(id);
                    if (gone && !_pending.ContainsKey(id))
                    {
                        Forget(id);
                        if (!own || handed.Contains(id))
                        {
                            _destroyed.TryAdd(id, 0);
                        }

                        if (entry.Subject is { } held && _subjects.TryGetValue(held, out var current) && current == id)
                        {
                            _subjects.Remove(held);
                        }
                    }
                }

                EndErasing(subject);
            }

            Log.SubjectKeysForgotten(_logger, subject);
        }
    }

    // Whether a key is held under the own subject of an entity of a mapped type: applying an update of that entity (or the
    // start's mapping pass) hands such keys to the subject its payload names (IDataKeyStore.MapStoredEntitiesAsync).
    private bool HeldUnderMappedEntity(Entry entry) =>
        Subjects.HasRules && entry.Subject is { } held && SubjectResolver.TypeOf(held) is { } type && Subjects.IsMapped(type);

    // Under _gate: one erasure of the subject is no longer on its way.
    private void EndErasing(string subject)
    {
        if (_erasing.TryGetValue(subject, out var count))
        {
            if (count <= 1)
            {
                _erasing.Remove(subject);
            }
            else
            {
                _erasing[subject] = count - 1;
            }
        }
    }

    private async Task<DataKey> TakePoolKeyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_pool.TryDequeue(out var key))
            {
                if (_pool.Count < Math.Max(1, _options.KeyPoolSize / 4))
                {
                    StartRefill();
                }

                return key;
            }

            StartRefill();
            await _refill.WaitAsync(cancellationToken);
        }
    }

    private void StartRefill()
    {
        lock (_gate)
        {
            if (_refill.IsCompleted)
            {
                _refill = Task.Run(() => RefillAsync(CancellationToken.None), CancellationToken.None);
            }
        }
    }

    // Creates a batch of keys, wraps them and stores them durably (one commit), then hands them out. A failure leaves the
    // pool as it was (the commit stage waiting for a key fails that batch of writes; nothing was appended).
    private async Task RefillAsync(CancellationToken cancellationToken)
    {
        await _refillGate.WaitAsync(cancellationToken);
        try
        {
            if (!_pool.IsEmpty && _pool.Count >= _options.KeyPoolSize / 4)
            {
                return;
            }

            var keys = new List<DataKey>(_options.KeyPoolSize);
            var stored = new List<StoredDataKey>(_options.KeyPoolSize);
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < _options.KeyPoolSize; i++)
            {
                var key = DataKey.Generate();
                var material = key.ExportKeyMaterial();
                try
                {
                    stored.Add(new StoredDataKey { KeyId = key.Id, MasterKeyId = _master!.KeyId, WrappedKey = _master.Wrap(key.Id, material), CreatedAt = now });
                }
                finally
                {
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(material);
                }

                keys.Add(key);
            }

            await _store!.AddKeysAsync(stored, cancellationToken);
            foreach (var key in keys)
            {
                _pool.Enqueue(key);
            }
        }
        finally
        {
            _refillGate.Release();
        }
    }

    /// <summary>Tests: how many keys wait in the pool.</summary>
    internal int PoolCount => _pool.Count;

    /// <summary>Tests: whether a key is held in memory.</summary>
    internal bool Holds(Guid keyId) => _keys.ContainsKey(keyId);

    /// <summary>The subject of a key the ring knows, for display.</summary>
    internal string? SubjectOf(Guid keyId) => _keys.TryGetValue(keyId, out var entry) ? entry.Subject : null;

    /// <summary>Whether this store can keep keys at all.</summary>
    internal bool HasStore => _store is not null;

}
