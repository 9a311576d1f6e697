using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Integration.Tests.Audit;

/// <summary>The Merkle tree of the SQLite store: proofs checked against roots computed here independently (plain
/// recursive RFC 9162 over SHA-256 of the stored entries' canonical bytes), checkpoints, reopening and migration.</summary>
public sealed class SqliteAuditMerkleTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IAuditProofs Proofs => (IAuditProofs)Sink;

    // RFC 9162 §2.1.1, written out independently of Nv.Audit.Merkle.
    private static byte[] Mth(IReadOnlyList<byte[]> leaves, int start, int count)
    {
        if (count == 0)
        {
            return SHA256.HashData([]);
        }

        if (count == 1)
        {
            return SHA256.HashData([0x00, .. leaves[start]]);
        }

        var k = 1;
        while (k * 2 < count)
        {
            k *= 2;
        }

        return SHA256.HashData([0x01, .. Mth(leaves, start, k), .. Mth(leaves, start + k, count - k)]);
    }

    private async Task<List<byte[]>> CanonicalBytesAsync(IEnumerable<AuditEntry> entries)
    {
        var list = new List<byte[]>();
        foreach (var entry in entries)
        {
            list.Add(AuditCanonicalEncoding.Encode((await Sink.GetAsync(entry.Id, Ct))!));
        }

        return list;
    }

    /// <summary>Verification used to read each part (entries, checkpoints, leaves) in a snapshot of its own, so an append
    /// between the entry scan and the leaf scan reported a forged leaf on a healthy, live store.</summary>
    [Fact]
    public async Task Verify_next_to_a_live_writer_reads_one_snapshot_and_reports_no_tampering()
    {
        await Sink.AppendAsync(Entries(200), Ct);
        using var stop = new CancellationTokenSource();
        var appends = 0;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Sink.AppendAsync(Entries(3), CancellationToken.None);
                Interlocked.Increment(ref appends);
                await Task.Delay(1, CancellationToken.None);
            }
        }, CancellationToken.None);

        var overlapped = 0; // verifies during which at least one append landed
        try
        {
            for (var i = 0; i < 200 && overlapped < 5; i++)
            {
                var before = Volatile.Read(ref appends);
                var result = await Sink.VerifyAsync(Ct);
                Assert.True(result.IsValid, result.Reason);
                overlapped += Volatile.Read(ref appends) > before + 1 ? 1 : 0; // more than one: an append began and ended inside it
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }

        Assert.True(overlapped > 0, "no append landed while a verify ran: the test proved nothing");
    }

    /// <summary>A key rotation (the generated key, then another: NV_AUDIT_SIGNING_KEY, as the docs suggest) used to make the
    /// store fail verification for ever: one key verified every checkpoint, so the older ones read as forged, and
    /// <c>--public-key</c> with the old key failed on the newer ones.</summary>
    [Fact]
    public async Task A_trail_signed_before_and_after_a_key_rotation_verifies_with_both_public_keys()
    {
        await Sink.AppendAsync(Entries(5), Ct);
        Assert.NotNull(await Proofs.CheckpointAsync("orders", Ct));
        var oldPublic = await Proofs.GetPublicKeyPemAsync(Ct);

        var newKey = Path.Combine(Directory, "rotated.pem");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await File.WriteAllTextAsync(newKey, key.ExportPkcs8PrivateKeyPem(), Ct);
        }

        Options.SigningKeyPath = newKey;
        await ReopenAsync();
        await Sink.AppendAsync(Entries(5), Ct);
        Assert.NotNull(await Proofs.CheckpointAsync("orders", Ct));
        var newPublic = await Proofs.GetPublicKeyPemAsync(Ct);
        Assert.NotEqual(oldPublic, newPublic);

        var currentOnly = await Proofs.VerifyAsync(null, Ct);
        Assert.False(currentOnly.IsValid);
        Assert.Contains("give the earlier public keys too", currentOnly.Reason, StringComparison.Ordinal);

        Assert.True((await Proofs.VerifyAsync(new AuditVerifyOptions { PublicKeyPem = oldPublic + "\n" + newPublic }, Ct)).IsValid); // an auditor's two keys

        var previous = Path.Combine(Directory, "previous.pub.pem");
        await File.WriteAllTextAsync(previous, oldPublic, Ct);
        Options.PreviousPublicKeysPath = previous;
        await ReopenAsync();
        var both = await Proofs.VerifyAsync(null, Ct);
        Assert.True(both.IsValid, both.Reason);
        Assert.Equal(2, both.CheckpointsChecked);

        // The independent reference verifier takes the two keys the same way.
        var keys = Path.Combine(Directory, "both.pub.pem");
        await File.WriteAllTextAsync(keys, oldPublic + "\n" + newPublic + "\n", Ct);
        var start = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(Support.RepoRoot.Path, "docs", "audit_verify_reference.py"), FilePath, keys })
        {
            start.ArgumentList.Add(arg);
        }

        using var python = System.Diagnostics.Process.Start(start)!;
        var output = await python.StandardOutput.ReadToEndAsync(Ct) + await python.StandardError.ReadToEndAsync(Ct);
        await python.WaitForExitAsync(Ct);
        Assert.True(output.StartsWith("OK", StringComparison.Ordinal), "reference verifier: " + output);
    }

    [Fact]
    public async Task Inclusion_and_consistency_proofs_match_independently_computed_roots()
    {
        var entries = Entries(37);
        await Sink.AppendAsync(entries[..20], Ct);
        await Sink.AppendAsync(Entries(5, "billing"), Ct);
        await Sink.AppendAsync(entries[20..], Ct);
        var data = await CanonicalBytesAsync(entries);
        using var verifier = CheckpointVerifier.FromPublicKeyPem(await Proofs.GetPublicKeyPemAsync(Ct));

        for (var i = 0; i < entries.Count; i++)
        {
            var proof = (await Proofs.GetInclusionProofAsync(entries[i].Id, cancellationToken: Ct))!;
            Assert.Equal(i, proof.LeafIndex);
            Assert.Equal(37, proof.TreeSize);
            Assert.Equal(SHA256.HashData([0x00, .. data[i]]), proof.LeafHash.ToArray());
            Assert.Equal(Mth(data, 0, 37), proof.Root.ToArray());
            Assert.True(proof.Verify());
            Assert.True(verifier.Verify(proof.Checkpoint!).IsValid);
            Assert.Equal(proof.Root, proof.Checkpoint!.Checkpoint.RootHash);
        }

        var atTwenty = (await Proofs.GetInclusionProofAsync(entries[7].Id, 20, Ct))!;
        Assert.Equal(Mth(data, 0, 20), atTwenty.Root.ToArray());
        Assert.True(atTwenty.Verify());
        Assert.Null(atTwenty.Checkpoint);
        Assert.False(atTwenty.Path.Verify(atTwenty.LeafHash, MerkleHash.FromBytes(Mth(data, 0, 37))));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Proofs.GetInclusionProofAsync(entries[30].Id, 20, Ct));
        Assert.Null(await Proofs.GetInclusionProofAsync(Guid.NewGuid(), cancellationToken: Ct));

        foreach (var (from, to) in new[] { (0, 37), (1, 37), (5, 20), (16, 37), (20, 37), (37, 37) })
        {
            var consistency = await Proofs.GetConsistencyProofAsync("orders", from, to, Ct);
            Assert.Equal(Mth(data, 0, from), consistency.FromRoot.ToArray());
            Assert.Equal(Mth(data, 0, to), consistency.ToRoot.ToArray());
            Assert.True(consistency.Verify(), $"{from}->{to}");
        }
    }

    [Fact]
    public async Task Checkpoints_are_stored_signed_reused_and_survive_reopening()
    {
        var entries = Entries(10);
        await Sink.AppendAsync(entries, Ct);
        var first = (await Proofs.CheckpointAsync("orders", Ct))!;
        Assert.Equal(10, first.Checkpoint.TreeSize);
        Assert.Same(first, await Proofs.CheckpointAsync("orders", Ct));
        Assert.Null(await Proofs.CheckpointAsync("nobody", Ct));

        var file = Path.Combine(Directory, "cp.txt");
        first.WriteToFile(file);
        Assert.Equal(first, SignedCheckpoint.ReadFromFile(file));

        await ReopenAsync();
        Assert.Equal(first, await Proofs.GetLatestCheckpointAsync("orders", Ct));
        await Sink.AppendAsync(Entries(3), Ct);
        var second = (await Proofs.CheckpointAllAsync(Ct)).Single();
        Assert.Equal(13, second.Checkpoint.TreeSize);
        var proof = await Proofs.GetConsistencyProofAsync("orders", 10, 13, Ct);
        Assert.True(MerkleProofVerifier.VerifyConsistency(10, 13, first.Checkpoint.RootHash, second.Checkpoint.RootHash, proof.Proof.Path.AsSpan()));
        Assert.Empty(await Proofs.CheckpointAllAsync(Ct));

        var result = await Proofs.VerifyAsync(new AuditVerifyOptions { FromCheckpoint = first }, Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(3, result.CheckpointsChecked);
    }

    /// <summary>Proof and checkpoint calls naming a chain the store does not hold used to cache a state for every such
    /// name (unbounded memory, and the periodic checkpointer visits every cached chain).</summary>
    [Fact]
    public async Task Chains_that_do_not_exist_are_not_cached_and_have_no_consistency_proof()
    {
        await Sink.AppendAsync(Entries(3), Ct);
        var sink = Assert.IsType<Nv.Audit.Sqlite.SqliteAuditSink>(Sink);
        var cached = sink.CachedChainCount;
        Assert.Equal(1, cached);

        var names = Enumerable.Range(0, 100).Select(i => "ghost-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var name in names)
        {
            Assert.Null(await Proofs.GetLatestCheckpointAsync(name, Ct));
            Assert.Null(await Proofs.CheckpointAsync(name, Ct));
        }

        Assert.Equal(cached, sink.CachedChainCount);
        foreach (var name in names)
        {
            await Assert.ThrowsAsync<KeyNotFoundException>(() => Proofs.GetConsistencyProofAsync(name, 0, 0, Ct));
        }

        Assert.Equal(cached, sink.CachedChainCount);
        Assert.True((await Proofs.GetConsistencyProofAsync("orders", 1, 3, Ct)).Verify());
        Assert.Equal(3, (await Proofs.CheckpointAllAsync(Ct)).Single().Checkpoint.TreeSize);
    }

    [Fact]
    public async Task Checkpoints_are_signed_automatically_every_n_entries()
    {
        await using var sink = AuditSinks.OpenSqlite(new AuditOptions
        {
            DataDirectory = Directory, SqliteFileName = "auto.db", CheckpointEveryEntries = 10, CheckpointInterval = TimeSpan.Zero,
        });
        await sink.AppendAsync(Entries(9), Ct);
        Assert.Null(await ((IAuditProofs)sink).GetLatestCheckpointAsync("orders", Ct));
        await sink.AppendAsync(Entries(4), Ct);
        Assert.Equal(13, (await ((IAuditProofs)sink).GetLatestCheckpointAsync("orders", Ct))!.Checkpoint.TreeSize);
        Assert.True((await sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task A_chain_that_goes_quiet_is_signed_within_the_interval_without_another_append()
    {
        await using var sink = AuditSinks.OpenSqlite(new AuditOptions
        {
            DataDirectory = Directory, SqliteFileName = "idle.db", CheckpointEveryEntries = 0, CheckpointInterval = TimeSpan.FromMilliseconds(500),
        });
        var proofs = (IAuditProofs)sink;
        var entries = Entries(5);
        await sink.AppendAsync(entries.Take(3).ToList(), Ct); // the chain was loaded just now: not yet due at append
        Assert.Equal(3, (await WaitForCheckpointAsync(proofs, "orders", 3)).Checkpoint.TreeSize);

        await sink.AppendAsync(entries.Skip(3).ToList(), Ct); // the last checkpoint is fresh: not due at append either
        Assert.Equal(5, (await WaitForCheckpointAsync(proofs, "orders", 5)).Checkpoint.TreeSize);
        Assert.True((await sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task A_failing_checkpoint_is_retried_once_per_interval_not_on_every_tick_and_signs_once_it_can()
    {
        var provider = new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider));
        var options = new AuditOptions
        {
            DataDirectory = Directory, SqliteFileName = "failing.db", CheckpointEveryEntries = 0, CheckpointInterval = TimeSpan.FromSeconds(2),
        };
        await using var sink = AuditSinks.OpenSqlite(options, factory);
        await sink.AppendAsync(Entries(2), Ct);
        using (var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(Directory, "failing.db"), Pooling = false }.ToString()))
        {
            raw.Open();
            Execute(raw, "CREATE TRIGGER injected_failure BEFORE INSERT ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'injected'); END;");
        }

        // No fixed sleep: wait for the second failure (the retry) and check when it came. The idle loop ticks every 100 ms;
        // retrying on every tick would put the two failures ~100 ms apart, retrying once per interval puts them 2 s apart.
        List<DateTimeOffset> Failures() => [.. provider.Collector.GetSnapshot().Where(r => r.Id.Id == 3010).Select(r => r.Timestamp)];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Failures().Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }

        var failures = Failures();
        Assert.True(failures.Count == 2, $"expected the failing checkpoint to be retried once within 30 s, saw {failures.Count} failures");
        Assert.True(failures[1] - failures[0] >= TimeSpan.FromSeconds(1.9), $"retried after {(failures[1] - failures[0]).TotalMilliseconds} ms, not after the 2 s interval");
        Assert.Null(await ((IAuditProofs)sink).GetLatestCheckpointAsync("orders", Ct));

        using (var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(Directory, "failing.db"), Pooling = false }.ToString()))
        {
            raw.Open();
            Execute(raw, "DROP TRIGGER injected_failure;");
        }

        // Each failed attempt is in the trail too (system-events, once per retry period, not per tick): the two failures
        // waited for above, the second one covering the first's entry; the checkpoint then covers both.
        var failed = (await sink.QueryAsync(new AuditQuery { Operation = "checkpoint-failed" }, Ct)).Entries.OrderBy(e => e.Sequence).ToList();
        Assert.Equal(2, failed.Count);
        Assert.Equal((AuditCategory.SystemEvents, 3L, "2"), (failed[0].Category, failed[0].Sequence, failed[0].Metadata["treeSize"]));
        Assert.Equal((AuditCategory.SystemEvents, 4L, "3"), (failed[1].Category, failed[1].Sequence, failed[1].Metadata["treeSize"]));
        Assert.Equal(4, (await WaitForCheckpointAsync((IAuditProofs)sink, "orders", 4)).Checkpoint.TreeSize);
    }

    private static async Task<SignedCheckpoint> WaitForCheckpointAsync(IAuditProofs proofs, string chain, long size)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var latest = await proofs.GetLatestCheckpointAsync(chain, Ct);
            if (latest is not null && latest.Checkpoint.TreeSize >= size)
            {
                return latest;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no checkpoint of size {size} within 20 s (latest: {latest?.Checkpoint.TreeSize})");
            await Task.Delay(50, Ct);
        }
    }

    [Fact]
    public async Task Generated_signing_key_is_private_to_the_owner_and_reused()
    {
        var pem = await Proofs.GetPublicKeyPemAsync(Ct);
        var keyFile = Path.Combine(Directory, "audit-signing-key.pem");
        Assert.True(File.Exists(keyFile));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        Assert.Equal(pem.Trim(), File.ReadAllText(Path.Combine(Directory, "audit-signing-key.pub.pem")).Trim());
        await ReopenAsync();
        Assert.Equal(pem, await Proofs.GetPublicKeyPemAsync(Ct));
    }

    [Fact]
    public async Task Configured_signing_key_file_is_used()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyFile = Path.Combine(Directory, "configured.pem");
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        await using var sink = AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = Directory, SqliteFileName = "k.db", SigningKeyPath = keyFile });
        await sink.AppendAsync(Entries(2), Ct);
        var checkpoint = (await ((IAuditProofs)sink).CheckpointAsync("orders", Ct))!;
        using var verifier = CheckpointVerifier.FromPublicKeyPem(key.ExportSubjectPublicKeyInfoPem());
        Assert.True(verifier.Verify(checkpoint).IsValid);
    }

    [Fact]
    public async Task Version_1_store_is_migrated_and_keeps_verifying_alongside_version_2_entries()
    {
        await Sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        var path = Path.Combine(Directory, "v1.db");
        var v1 = Entries(4);
        using (var raw = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            raw.Open();
            Execute(raw, Nv.Audit.Sqlite.SqliteAuditSchema.Create + "PRAGMA user_version = 1;");
            var prev = AuditHash.Genesis;
            for (var i = 0; i < v1.Count; i++)
            {
                var e = v1[i] with { Sequence = i + 1, PrevHash = prev, EncodingVersion = 1 };
                var hash = AuditHash.Compute(e);
                using var insert = raw.CreateCommand();
                insert.CommandText = "INSERT INTO audit_entries (id, timestamp, service, category, operation, user_id, dto_type, entity_id, before_json, " +
                    "after_json, changes_json, reason, metadata_json, request_id, lsn, sequence, prev_hash, hash) VALUES ($id, $ts, 'orders', " +
                    "'entity-mutation', 'update', 'alice', 'Order', $entity, '{\"n\":1,\"status\":\"new\"}', '{\"n\":2,\"status\":\"paid\"}', " +
                    "'[{\"after\":2,\"before\":1,\"path\":\"/n\"},{\"after\":\"paid\",\"before\":\"new\",\"path\":\"/status\"}]', 'test', " +
                    "'{\"k\":\"v\"}', $req, $lsn, $seq, $prev, $hash)";
                insert.Parameters.AddWithValue("$id", AuditCanonicalEncoding.FormatId(e.Id));
                insert.Parameters.AddWithValue("$ts", AuditCanonicalEncoding.FormatTimestamp(e.Timestamp));
                insert.Parameters.AddWithValue("$entity", e.EntityId);
                insert.Parameters.AddWithValue("$req", e.RequestId);
                insert.Parameters.AddWithValue("$lsn", e.Lsn!.Value.Value);
                insert.Parameters.AddWithValue("$seq", e.Sequence);
                insert.Parameters.AddWithValue("$prev", prev);
                insert.Parameters.AddWithValue("$hash", hash);
                insert.ExecuteNonQuery();
                prev = hash;
            }
        }

        await using var sink = AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = Directory, SqliteFileName = "v1.db" });
        Assert.True((await sink.VerifyAsync(Ct)).IsValid);
        var old = (await sink.GetAsync(v1[2].Id, Ct))!;
        Assert.Equal(1, old.EncodingVersion);
        var v2 = Entries(3);
        await sink.AppendAsync(v2, Ct);
        var added = (await sink.GetAsync(v2[0].Id, Ct))!;
        Assert.Equal((2, 5L, "orders"), (added.EncodingVersion, added.Sequence, added.Service));
        var proofs = (IAuditProofs)sink;
        var proof = (await proofs.GetInclusionProofAsync(v1[1].Id, cancellationToken: Ct))!;
        Assert.True(proof.Verify());
        Assert.Equal(MerkleHasher.HashLeaf(AuditCanonicalEncoding.Encode((await sink.GetAsync(v1[1].Id, Ct))!)), proof.LeafHash);
        var result = await proofs.VerifyAsync(null, Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(7, result.EntriesChecked);
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        Assert.Equal((long)Nv.Audit.Sqlite.SqliteAuditSchema.Version, new SqliteCommand("PRAGMA user_version", check).ExecuteScalar());
    }

    [Fact]
    public async Task Entries_from_wal_records_commit_to_the_record_hash()
    {
        var record = new Nv.Wal.WalRecord
        {
            Id = Guid.CreateVersion7(), Lsn = new Nv.Wal.Lsn(42), Service = "orders", Version = 1, Timestamp = DateTimeOffset.UtcNow,
            Operation = Nv.Wal.WalOperation.Create, DtoType = "Order", EntityId = "o-1", Payload = Json("""{"status":"new"}"""),
            ReplayKey = "dev:orders:1:Order:o-1", RequestId = "req-1",
        };
        var entry = AuditEntryFactory.FromWalRecord(record, null);
        Assert.Equal(WalRecordHasher.Compute(record), entry.WalRecordHash);
        await Sink.AppendAsync([entry], Ct);
        var stored = (await Sink.GetAsync(entry.Id, Ct))!;
        Assert.Equal(entry.WalRecordHash, stored.WalRecordHash);
        Assert.Equal(2, stored.EncodingVersion);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }
}
