using System.Text.Json;
using Nv.DbWriter;
using Nv.Host.Protection;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The key ring's subject bookkeeping around erasures, batch records and cache trims, on a real SQLite key store
/// and master key file, driven in the order the commit and apply stages call it.</summary>
public sealed class KeyRingBookkeepingTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private IDbWriter _db = null!;
    private FileMasterKeyProvider _master = null!;
    private KeyRing _ring = null!;
    private long _lsn;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _db = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _dir.Path });
        await _db.InitializeAsync(Ct);
        var keyFile = Path.Combine(_dir.Path, "master.key");
        FileMasterKeyProvider.CreateKeyFile(keyFile);
        _master = FileMasterKeyProvider.Open(keyFile);
        _ring = new KeyRing(new EncryptionOptions { KeyPoolSize = 4, KeyCacheSize = 16 }, (IDataKeyStore)_db, null, _master);
        await _ring.OpenAsync(Ct);
        await _ring.StartWritingAsync(Ct);
    }

    public async ValueTask DisposeAsync()
    {
        _ring.Dispose();
        _master.Dispose();
        await _db.DisposeAsync();
        _dir.Dispose();
    }

    // Customer records with the next LSN (the shared builders), sealed under a key when one is given.
    private WalRecord Create(string entityId, Guid key) => WalRecords.Sealed(WalRecords.Create(++_lsn, entityId, """{"n":1}""", "Customer"), key);

    private WalRecord Erase(string entityId) => WalRecords.Erase(++_lsn, "Customer", entityId);

    private Task AppliedAsync(params WalRecord[] records) =>
        _ring.AfterApplyAsync(records, [.. records.Select(r => new ApplyResult { Lsn = r.Lsn, Status = ApplyStatus.Applied })], Ct);

    [Fact]
    public async Task An_erasure_forgets_the_key_a_batch_item_was_first_sealed_with()
    {
        // Before the fix a batch record's item keys stayed "pending" for ever: an erasure of their subject kept them in
        // memory (the erased data still decrypted until a restart), and a later cache trim could hand them out again.
        var key = await _ring.KeyForAsync("Customer/b", Ct);
        var lsn = ++_lsn;
        var item = BatchRecords.Create(lsn, 0, "b", "{}", "Customer") with { Subject = "Customer/b", PayloadKeyId = key };
        await AppliedAsync(BatchRecords.Batch(lsn, item));
        Assert.True(_ring.Holds(key));

        _ring.BeginErase("Customer/b");
        await AppliedAsync(Erase("b"));

        Assert.False(_ring.Holds(key));
        Assert.False(_ring.TryGetKey(key, out _));
        Assert.NotEqual(key, await _ring.KeyForAsync("Customer/b", Ct));
    }

    [Fact]
    public async Task A_cache_trim_never_points_a_subject_back_at_a_key_an_erasure_on_its_way_will_destroy()
    {
        // Before the fix a trim rebuilt each subject's current key from the pending keys, last one wins in the
        // dictionary's slot order: after a removal freed an earlier slot, the erased subject's old key won, and the next
        // write of that subject was sealed under a key its erasure then destroyed (unreadable after a restart).
        var other = await _ring.KeyForAsync("Customer/a", Ct);
        var old = await _ring.KeyForAsync("Customer/s", Ct);
        await AppliedAsync(Create("a", other)); // frees the first slot of the pending keys
        _ring.BeginErase("Customer/s");
        var reborn = await _ring.KeyForAsync("Customer/s", Ct); // written after the erasure: takes the freed slot
        Assert.NotEqual(old, reborn);

        for (var i = 0; i < 20; i++)
        {
            await _ring.KeyForAsync("Customer/filler-" + i, Ct); // past KeyCacheSize (16): the ring trims
        }

        Assert.Equal(reborn, await _ring.KeyForAsync("Customer/s", Ct));
    }

    [Fact]
    public async Task The_key_cache_stays_within_its_size_and_its_count_matches_the_keys_it_holds()
    {
        // The ring counts its keys itself (ConcurrentDictionary.Count takes every bucket lock: it cost the commit stage
        // several microseconds per new subject); a count that drifted would trim too early or never.
        var keys = new List<Guid>();
        for (var i = 0; i < 40; i++)
        {
            var key = await _ring.KeyForAsync("Customer/c" + i, Ct);
            await AppliedAsync(Create("c" + i, key)); // assigned: no longer pending, so a trim may forget it
            keys.Add(key);
            Assert.InRange(_ring.CachedKeys, 1, 16); // KeyCacheSize
            Assert.Equal(keys.Count(_ring.Holds), _ring.CachedKeys);
        }

        var held = _ring.CachedKeys;
        _ring.BeginErase("Customer/c39");
        await AppliedAsync(Erase("c39"));
        Assert.False(_ring.Holds(keys[^1]));
        Assert.Equal(held - 1, _ring.CachedKeys);
        Assert.True(_ring.TryGetKey(keys[^2], out _)); // read back from the store after a trim forgot it, or still held
        Assert.Equal(keys.Count(_ring.Holds), _ring.CachedKeys);
    }

    [Fact]
    public async Task A_commit_batchs_subjects_are_looked_up_in_one_query_and_each_keeps_the_key_the_store_holds_for_it()
    {
        var known = await _ring.KeyForAsync("Customer/known", Ct); // stored by the pool refill, assigned by the apply below
        await _db.ApplyAsync([Create("known", known)], Ct);

        var counting = new CountingKeyStore((IDataKeyStore)_db);
        using var again = new KeyRing(new EncryptionOptions { KeyPoolSize = 4, KeyCacheSize = 16 }, counting, null, _master);
        await again.OpenAsync(Ct);
        await again.StartWritingAsync(Ct);
        counting.SubjectQueries = 0;

        string[] subjects = ["Customer/known", "Customer/new-1", "Customer/new-2", "Customer/new-1"];
        await again.LookUpAsync(subjects, Ct);
        var keys = new List<Guid>();
        foreach (var subject in subjects)
        {
            keys.Add(await again.KeyForAsync(subject, Ct));
        }

        again.EndLookups();
        Assert.Equal(1, counting.SubjectQueries); // one for the batch, none per new subject
        Assert.Equal(known, keys[0]);
        Assert.Equal(keys[1], keys[3]);
        Assert.Equal(3, keys.Distinct().Count());

        // Once the batch is appended the lookup vouches for nothing: a subject is asked of the store again.
        await again.KeyForAsync("Customer/new-3", Ct);
        Assert.Equal(2, counting.SubjectQueries);
    }

    [Fact]
    public async Task A_key_read_from_the_store_just_before_its_erasure_committed_is_not_kept_in_memory()
    {
        // A reader (the audit stage, a history read) that found a key in the store just before the subject's erasure
        // committed used to cache it after the erasure had already dropped that subject's keys from memory: the erased
        // data decrypted again in this process until a restart.
        var key = await _ring.KeyForAsync("Customer/late", Ct);
        await _db.ApplyAsync([Create("late", key)], Ct);

        var gated = new CountingKeyStore((IDataKeyStore)_db) { AfterKeyRead = new TaskCompletionSource() };
        using var ring = new KeyRing(new EncryptionOptions { KeyPoolSize = 4, KeyCacheSize = 16 }, gated, null, _master);
        await ring.OpenAsync(Ct);
        var read = Task.Run(() => ring.TryGetKey(key, out _), Ct);
        await gated.KeyRead.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct); // the key was read; its caller has not kept it yet

        ring.BeginErase("Customer/late");
        var erase = Erase("late");
        await _db.ApplyAsync([erase], Ct);
        gated.AfterKeyRead = null;
        await ring.AfterApplyAsync([erase], [new ApplyResult { Lsn = erase.Lsn, Status = ApplyStatus.Applied }], Ct);
        gated.ReleaseKeyRead();

        Assert.False(await read.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.False(ring.Holds(key));
        Assert.False(ring.TryGetKey(key, out _));
    }

    /// <summary>The SQLite key store, counting subject lookups, and able to hold a key read after the read.</summary>
    private sealed class CountingKeyStore(IDataKeyStore inner) : IDataKeyStore
    {
        private TaskCompletionSource? _release;

        public int SubjectQueries { get; set; }

        /// <summary>When set, a key read by id completes <see cref="KeyRead"/> and then waits for <see cref="ReleaseKeyRead"/>.</summary>
        public TaskCompletionSource? AfterKeyRead { get; set; }

        public TaskCompletionSource KeyRead { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReleaseKeyRead() => _release?.TrySetResult();

        public Task<IReadOnlyList<StoredDataKey>> FindSubjectKeysAsync(IReadOnlyCollection<string> subjects, CancellationToken cancellationToken = default)
        {
            SubjectQueries++;
            return inner.FindSubjectKeysAsync(subjects, cancellationToken);
        }

        public Task AddKeysAsync(IReadOnlyList<StoredDataKey> keys, CancellationToken cancellationToken = default) => inner.AddKeysAsync(keys, cancellationToken);

        public async Task<IReadOnlyList<StoredDataKey>> FindKeysAsync(IReadOnlyCollection<Guid> keyIds, CancellationToken cancellationToken = default)
        {
            var found = await inner.FindKeysAsync(keyIds, cancellationToken);
            if (AfterKeyRead is not null && _release is null)
            {
                _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                KeyRead.TrySetResult();
                await _release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }

            return found;
        }

        public Task<string?> FindEntitySubjectAsync(string dtoType, string entityId, CancellationToken cancellationToken = default) =>
            inner.FindEntitySubjectAsync(dtoType, entityId, cancellationToken);

        public Task<IReadOnlyList<StoredEntityMapping>> MapStoredEntitiesAsync(IReadOnlyList<SubjectMappingRule> rules, CancellationToken cancellationToken = default) =>
            inner.MapStoredEntitiesAsync(rules, cancellationToken);

        public Task<long> DeleteUnassignedKeysAsync(CancellationToken cancellationToken = default) => inner.DeleteUnassignedKeysAsync(cancellationToken);

        public Task<DataKeyStatistics> GetKeyStatisticsAsync(CancellationToken cancellationToken = default) => inner.GetKeyStatisticsAsync(cancellationToken);

        public Task<IReadOnlyList<SubjectErasure>> GetErasuresAsync(int limit, CancellationToken cancellationToken = default) =>
            inner.GetErasuresAsync(limit, cancellationToken);

        public Task<SubjectErasure?> FindErasureAsync(Lsn lsn, CancellationToken cancellationToken = default) => inner.FindErasureAsync(lsn, cancellationToken);

        public Task<long> RewrapKeysAsync(string fromMasterKeyId, string toMasterKeyId, Func<StoredDataKey, byte[]> rewrap, Action<long>? progress = null,
            CancellationToken cancellationToken = default) => inner.RewrapKeysAsync(fromMasterKeyId, toMasterKeyId, rewrap, progress, cancellationToken);

        public Task<bool> ScrubAsync(CancellationToken cancellationToken = default) => inner.ScrubAsync(cancellationToken);
    }

    [Fact]
    public async Task A_batch_that_fails_after_announcing_an_erasure_leaves_the_subjects_stored_key_current()
    {
        var key = await _ring.KeyForAsync("Customer/c", Ct); // stored by the pool refill, assigned by the apply below
        await _db.ApplyAsync([Create("c", key)], Ct);

        // A new ring (a restart) that starts an erasure and then cancels it (its batch failed before the append).
        using var again = new KeyRing(new EncryptionOptions { KeyPoolSize = 4, KeyCacheSize = 16 }, (IDataKeyStore)_db, null, _master);
        await again.OpenAsync(Ct);
        again.BeginErase("Customer/c");
        again.CancelErase("Customer/c");
        Assert.Equal(key, await again.KeyForAsync("Customer/c", Ct));
    }
}
