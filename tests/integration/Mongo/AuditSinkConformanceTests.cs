using System.Text.Json;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The behaviour every <see cref="IAuditSink"/> must show, whatever the store; subclasses supply the store.</summary>
/// <remarks>Only <see cref="IAuditSink"/> and the chain primitives are used, so the SQLite and MongoDB sinks run it
/// unchanged and must produce the same hashes for the same entries.</remarks>
public abstract class AuditSinkConformanceTests : IAsyncLifetime
{
    private static long _counter;
    private IAuditSink? _sink;

    protected IAuditSink Sink => _sink ?? throw new InvalidOperationException("Not initialized.");

    /// <summary>Opens this test's store: empty on the first call, the same store on later calls.</summary>
    protected abstract Task<IAuditSink> OpenSinkAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _sink = await OpenSinkAsync();
        await _sink.InitializeAsync(Ct);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_sink is not null)
        {
            await _sink.DisposeAsync();
            _sink = null;
        }

        GC.SuppressFinalize(this);
    }

    private static JsonElement Json(string text) => JsonSerializer.Deserialize<JsonElement>(text);

    protected static AuditEntry Entry(string service = "orders", string entityId = "o-1", string requestId = "req-1", string? userId = "alice")
    {
        var n = Interlocked.Increment(ref _counter);
        return new AuditEntry
        {
            Id = Guid.CreateVersion7(),
            Timestamp = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(n),
            Service = service,
            Category = AuditCategory.EntityMutation,
            Operation = "update",
            UserId = userId,
            DtoType = "Order",
            EntityId = entityId,
            Before = Json("""{"status":"new","n":1.50,"big":12345678901234567890}"""),
            After = Json("""{"status":"paid","n":2,"$odd":"key","a.b":"dotted"}"""),
            Changes = [new FieldChange("/n", Json("1.50"), Json("2")), new FieldChange("/status", Json("\"new\""), Json("\"paid\""))],
            Reason = "test",
            Metadata = new Dictionary<string, string> { ["k"] = "v" },
            RequestId = requestId,
            Lsn = new Lsn(n),
        };
    }

    /// <summary>The chain computed by hand from the spec, independent of any store.</summary>
    private static List<string> ExpectedHashes(IEnumerable<AuditEntry> entries)
    {
        var hashes = new List<string>();
        var prev = AuditHash.Genesis;
        var sequence = 0L;
        foreach (var entry in entries)
        {
            var linked = entry with { Sequence = ++sequence, PrevHash = prev, Hash = string.Empty };
            prev = AuditHash.Compute(linked);
            hashes.Add(prev);
        }

        return hashes;
    }

    [Fact]
    public async Task Appends_link_one_chain_per_service_with_the_canonical_hashes()
    {
        var orders = Enumerable.Range(0, 5).Select(i => Entry("orders", "o-" + i, "r-" + i)).ToList();
        var billing = Enumerable.Range(0, 3).Select(i => Entry("billing", "b-" + i, "rb-" + i)).ToList();
        List<AuditEntry> mixed = [orders[0], billing[0], orders[1], orders[2], billing[1]];

        Assert.Equal(5, await Sink.AppendAsync(mixed, Ct));
        Assert.Equal(3, await Sink.AppendAsync([orders[3], billing[2], orders[4]], Ct));

        var expectedOrders = ExpectedHashes(orders);
        for (var i = 0; i < orders.Count; i++)
        {
            var stored = await Sink.GetAsync(orders[i].Id, Ct);
            Assert.NotNull(stored);
            Assert.Equal(i + 1, stored.Sequence);
            Assert.Equal(expectedOrders[i], stored.Hash);
            Assert.Equal(i == 0 ? AuditHash.Genesis : expectedOrders[i - 1], stored.PrevHash);
        }

        Assert.Equal(ExpectedHashes(billing)[^1], (await Sink.GetAsync(billing[2].Id, Ct))!.Hash);
        var verification = await Sink.VerifyAsync(Ct);
        Assert.True(verification.IsValid, verification.Reason);
        Assert.Equal(8, verification.EntriesChecked);
    }

    /// <summary>Entity mutations commit to their WAL record (encoding 2 covers <see cref="AuditEntry.WalRecordHash"/>): the
    /// store keeps that hash and the version, so the chain verifies and the hashes are the canonical ones (issue 19 item 1).</summary>
    [Fact]
    public async Task Entries_that_commit_to_their_wal_record_keep_the_hash_and_verify()
    {
        var records = Enumerable.Range(1, 4).Select(i => new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Lsn = new Lsn(Interlocked.Increment(ref _counter)),
            Service = "walhash",
            Version = 1,
            Timestamp = new DateTimeOffset(2025, 2, 1, 0, 0, i, TimeSpan.Zero),
            Operation = i == 1 ? WalOperation.Create : WalOperation.Update,
            DtoType = "Order",
            EntityId = "o-1",
            Payload = Json($$"""{"n":{{i}}}"""),
            ReplayKey = "test:walhash:1:Order:o-1",
            RequestId = "rq-" + i,
        }).ToList();
        var entries = records.Select((r, i) => AuditEntryFactory.FromWalRecord(r, i == 0 ? null : Json($$"""{"n":{{i}}}"""))).ToList();
        entries.Insert(2, AuditEntryFactory.ServiceStarted("walhash"));

        Assert.Equal(entries.Count, await Sink.AppendAsync(entries, Ct));

        var expected = ExpectedHashes(entries);
        for (var i = 0; i < entries.Count; i++)
        {
            var stored = await Sink.GetAsync(entries[i].Id, Ct);
            Assert.Equal(entries[i].WalRecordHash, stored!.WalRecordHash);
            Assert.Equal(AuditCanonicalEncoding.Version, stored.EncodingVersion);
            Assert.Equal(expected[i], stored.Hash);
        }

        var verification = await Sink.VerifyAsync(Ct);
        Assert.True(verification.IsValid, verification.Reason);
    }

    [Fact]
    public async Task The_Merkle_tree_signed_checkpoints_and_proofs_are_the_same_on_every_store()
    {
        var proofs = Assert.IsAssignableFrom<IAuditProofs>(Sink);
        var entries = Enumerable.Range(0, 7).Select(i => Entry(requestId: "p-" + i)).ToList();
        await Sink.AppendAsync(entries, Ct);

        var checkpoint = await proofs.CheckpointAsync("orders", Ct);
        Assert.Equal(7, checkpoint!.Checkpoint.TreeSize);
        using (var verifier = Nv.Audit.Merkle.CheckpointVerifier.FromPublicKeyPem(await proofs.GetPublicKeyPemAsync(Ct)))
        {
            Assert.True(verifier.Verify(checkpoint).IsValid);
        }

        var proof = await proofs.GetInclusionProofAsync(entries[3].Id, null, Ct);
        Assert.Equal((3L, 7L), (proof!.LeafIndex, proof.TreeSize));
        Assert.True(proof.Verify());
        Assert.Equal(checkpoint.Checkpoint.RootHash, proof.Root);
        // The leaf is the entry's canonical bytes as stored: an auditor recomputes it from the entry alone.
        var stored = await Sink.GetAsync(entries[3].Id, Ct);
        Assert.Equal(Nv.Audit.Merkle.MerkleHasher.HashLeaf(AuditCanonicalEncoding.Encode(stored!)), proof.LeafHash);

        await Sink.AppendAsync([Entry(requestId: "p-7"), Entry(requestId: "p-8")], Ct);
        var consistency = await proofs.GetConsistencyProofAsync("orders", 7, 9, Ct);
        Assert.Equal(checkpoint.Checkpoint.RootHash, consistency.FromRoot);
        Assert.True(consistency.Proof.Verify(consistency.FromRoot, consistency.ToRoot));
        var verified = await proofs.VerifyAsync(new AuditVerifyOptions { FromCheckpoint = checkpoint }, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        Assert.Equal(9, verified.EntriesChecked);
        Assert.Equal(7, (await proofs.GetLatestCheckpointAsync("orders", Ct))!.Checkpoint.TreeSize);
        Assert.Equal(9, (await proofs.CheckpointAllAsync(Ct)).Single().Checkpoint.TreeSize);
    }

    /// <summary>A chain the store does not hold has no tree to prove anything about: its consistency proof was an empty-tree
    /// proof, and asking cached a state for the name (unbounded memory, one more chain for the background checkpointer).</summary>
    [Fact]
    public async Task A_chain_that_does_not_exist_has_no_checkpoint_and_no_consistency_proof()
    {
        var proofs = Assert.IsAssignableFrom<IAuditProofs>(Sink);
        await Sink.AppendAsync([Entry(requestId: "k-1"), Entry(requestId: "k-2")], Ct);

        foreach (var name in new[] { "ghost", "ghost-2" })
        {
            Assert.Null(await proofs.GetLatestCheckpointAsync(name, Ct));
            Assert.Null(await proofs.CheckpointAsync(name, Ct));
            await Assert.ThrowsAsync<KeyNotFoundException>(() => proofs.GetConsistencyProofAsync(name, 0, 0, Ct));
            await Assert.ThrowsAsync<KeyNotFoundException>(() => proofs.GetConsistencyProofAsync(name, 1, 2, Ct));
        }

        Assert.True((await proofs.GetConsistencyProofAsync("orders", 1, 2, Ct)).Verify());
        Assert.Equal("orders", (await proofs.CheckpointAllAsync(Ct)).Single().Checkpoint.ChainId);
    }

    [Fact]
    public async Task Appending_an_id_again_is_a_no_op()
    {
        var batch = Enumerable.Range(0, 4).Select(i => Entry(entityId: "o-" + i)).ToList();
        Assert.Equal(4, await Sink.AppendAsync(batch, Ct));

        var extra = Entry(entityId: "o-9");
        Assert.Equal(1, await Sink.AppendAsync([batch[1], extra, batch[1], batch[3]], Ct));
        Assert.Equal(0, await Sink.AppendAsync(batch, Ct));

        Assert.Equal(5, (await Sink.GetAsync(extra.Id, Ct))!.Sequence);
        var found = await Sink.ContainsAsync([batch[0].Id, extra.Id, Guid.CreateVersion7()], Ct);
        Assert.Equal(new HashSet<Guid> { batch[0].Id, extra.Id }, found);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task Entries_round_trip_exactly()
    {
        var entry = Entry() with { UserId = null, Reason = null, Lsn = null, Before = null };
        await Sink.AppendAsync([entry], Ct);

        var stored = await Sink.GetAsync(entry.Id, Ct);

        Assert.NotNull(stored);
        Assert.Equal(entry.Timestamp, stored.Timestamp);
        Assert.Null(stored.UserId);
        Assert.Null(stored.Before);
        Assert.Equal(CanonicalJson.ToText(entry.After!.Value), CanonicalJson.ToText(stored.After!.Value));
        Assert.Equal(AuditHash.Compute(stored), stored.Hash);
        Assert.Null(await Sink.GetAsync(Guid.CreateVersion7(), Ct));
    }

    [Fact]
    public async Task Queries_filter_and_page_with_the_cursor_in_both_directions()
    {
        var entries = Enumerable.Range(0, 7).Select(i => Entry(entityId: i % 2 == 0 ? "even" : "odd", requestId: "q-" + (i % 3))).ToList();
        await Sink.AppendAsync(entries, Ct);

        var evens = entries.Where(e => e.EntityId == "even").Select(e => e.Id).ToList();
        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await Sink.QueryAsync(new AuditQuery { EntityId = "even", Limit = 3, Cursor = cursor }, Ct);
            seen.AddRange(page.Entries.Select(e => e.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(Enumerable.Reverse(evens), seen);

        var ascending = await Sink.QueryAsync(new AuditQuery { RequestId = "q-1", Ascending = true }, Ct);
        Assert.Equal(entries.Where(e => e.RequestId == "q-1").Select(e => e.Id), ascending.Entries.Select(e => e.Id));
        Assert.Null(ascending.NextCursor);

        var window = await Sink.QueryAsync(new AuditQuery { From = entries[2].Timestamp, To = entries[5].Timestamp, Ascending = true }, Ct);
        Assert.Equal(entries.Skip(2).Take(3).Select(e => e.Id), window.Entries.Select(e => e.Id));
        Assert.Empty((await Sink.QueryAsync(new AuditQuery { UserId = "nobody" }, Ct)).Entries);
    }

    [Fact]
    public async Task The_chain_continues_after_reopen()
    {
        var first = Entry();
        await Sink.AppendAsync([first], Ct);
        await Sink.DisposeAsync();
        _sink = await OpenSinkAsync();

        var second = Entry();
        await Sink.AppendAsync([second], Ct);

        var stored = await Sink.GetAsync(second.Id, Ct);
        Assert.Equal(2, stored!.Sequence);
        Assert.Equal((await Sink.GetAsync(first.Id, Ct))!.Hash, stored.PrevHash);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }
}
