using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Host.Protection;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>Encryption at rest and erasure over the real FasterLog WAL and SQLite stores: payloads sealed per subject,
/// keys checked at start, an erasure that destroys the subject's keys and leaves later writes alone.</summary>
public sealed class EncryptionAtRestTests : IDisposable
{
    private const string Secret = "Hilda Whitcher, 078-05-1120";

    private readonly TempDirectory _dir = new();
    private readonly TempDirectory _keys = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Data => Path.Combine(_dir.Path, "data");

    private string MasterKey(string name = "master.key")
    {
        var path = Path.Combine(_keys.Path, name);
        if (!File.Exists(path))
        {
            FileMasterKeyProvider.CreateKeyFile(path);
        }

        return path;
    }

    private Task<NvTestHost> StartAsync(string? masterKey, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["Nv:Encryption:MasterKeyFile"] = masterKey, ["Nv:Encryption:KeyPoolSize"] = "16" };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return NvTestHost.StartAsync(Data, settings);
    }

    private static WriteRequest Write(string requestId, WalOperation operation, string entityId, object? payload = null, string dtoType = "Customer") => new()
    {
        RequestId = requestId,
        Operation = operation,
        DtoType = dtoType,
        EntityId = entityId,
        Payload = payload is null ? null : JsonSerializer.SerializeToElement(payload),
        UserId = "alice",
        Reason = "test",
    };

    private static async Task<List<WalRecord>> ReadWal(IWriteAheadLog wal)
    {
        var records = new List<WalRecord>();
        await foreach (var record in wal.ReadAsync(Lsn.None, Ct))
        {
            records.Add(record);
        }

        return records;
    }

    private byte[] WalBytes() => [.. Directory.GetFiles(Path.Combine(Data, "wal"), "*", SearchOption.AllDirectories).SelectMany(File.ReadAllBytes)];

    private static bool Holds(byte[] bytes, string text) => bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public async Task Writes_round_trip_sealed_per_subject_and_the_wal_holds_no_plaintext()
    {
        var key = MasterKey();
        await using (var nv = await StartAsync(key))
        {
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = Secret, n = 1 }), Ct)).Status);
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("u1", WalOperation.Update, "ada", new { name = Secret, n = 2 }), Ct)).Status);
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c2", WalOperation.Create, "bob", new { name = "Bob" }), Ct)).Status);
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("d2", WalOperation.Delete, "bob"), Ct)).Status);
            var batch = await nv.Pipeline.WriteBatchAsync(new BatchRequest
            {
                RequestId = "b1",
                Items =
                [
                    new BatchItem { Operation = BatchOperation.Create, DtoType = "Customer", EntityId = "cy", Payload = JsonSerializer.SerializeToElement(new { name = "Cy " + Secret }) },
                    new BatchItem { Operation = BatchOperation.Update, DtoType = "Customer", EntityId = "ada", Payload = JsonSerializer.SerializeToElement(new { name = Secret, n = 3 }) },
                ],
            }, Ct);
            Assert.Equal(WriteStatus.Applied, batch.Status);

            var records = await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>());
            var entities = records.SelectMany(r => r.EntityChanges()).ToList();
            Assert.All(entities, r => Assert.NotNull(r.PayloadKeyId));
            Assert.All(entities, r => Assert.False(r.PayloadUnavailable));
            var adaKeys = entities.Where(r => r.EntityId == "ada").Select(r => r.PayloadKeyId).Distinct().ToList();
            Assert.Single(adaKeys); // one key per subject
            Assert.NotEqual(adaKeys[0], entities.First(r => r.EntityId == "bob").PayloadKeyId);
            Assert.Equal(3, (await nv.Pipeline.ReadAsync("Customer", "ada", Ct))!.Document.GetProperty("n").GetInt32());
        }

        Assert.False(Holds(WalBytes(), "Whitcher"));
        Assert.False(Holds(WalBytes(), "078-05-1120"));

        await using (var again = await StartAsync(key))
        {
            Assert.Equal(0, again.BootReplay.Replayed);
            Assert.Equal(3, (await again.Pipeline.ReadAsync("Customer", "ada", Ct))!.Document.GetProperty("n").GetInt32());
            Assert.Equal(Secret, (await again.Pipeline.ReadAsync("Customer", "ada", Ct))!.Document.GetProperty("name").GetString());
            var records = await ReadWal(again.Services.GetRequiredService<IWriteAheadLog>());
            Assert.Equal(Secret, records.First(r => r.RequestId == "c1").Payload.GetProperty("name").GetString());
        }

        // Without the master key the log still opens (operator tools): the payloads are ciphertext.
        await using var plain = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(Data, "wal") });
        var sealedRecords = await ReadWal(plain);
        Assert.All(sealedRecords.Where(r => r.RequestId == "c1"), r => Assert.True(r.PayloadUnavailable));
    }

    [Fact]
    public async Task Start_fails_with_one_clear_line_for_a_wrong_missing_or_absent_master_key()
    {
        var right = MasterKey("right.key");
        await using (var nv = await StartAsync(right))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = Secret }), Ct);
        }

        var wrong = MasterKey("wrong.key");
        var ex = await Assert.ThrowsAsync<MasterKeyException>(() => StartAsync(wrong));
        Assert.DoesNotContain('\n', ex.Message);
        using (var rightProvider = FileMasterKeyProvider.Open(right))
        using (var wrongProvider = FileMasterKeyProvider.Open(wrong))
        {
            Assert.Contains(rightProvider.KeyId, ex.Message);
            Assert.Contains(wrongProvider.KeyId, ex.Message);
        }

        var missing = await Assert.ThrowsAsync<MasterKeyException>(() => StartAsync(Path.Combine(_keys.Path, "nope.key")));
        Assert.Contains("nope.key", missing.Message);
        Assert.DoesNotContain('\n', missing.Message);

        var off = await Assert.ThrowsAsync<MasterKeyException>(() => StartAsync(null));
        Assert.Contains("NV_MASTER_KEY_FILE", off.Message);
        Assert.DoesNotContain('\n', off.Message);

        await using var fine = await StartAsync(right); // nothing was harmed
        Assert.Equal(Secret, (await fine.Pipeline.ReadAsync("Customer", "ada", Ct))!.Document.GetProperty("name").GetString());
    }

    [Fact]
    public async Task An_erasure_destroys_the_subjects_keys_and_entity_and_a_later_write_to_it_gets_a_new_key()
    {
        var key = MasterKey();
        Guid oldKey;
        await using (var nv = await StartAsync(key))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = Secret }), Ct);
            await nv.Pipeline.WriteAsync(Write("c2", WalOperation.Create, "bob", new { name = "Bob" }), Ct);
            var erased = await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "GDPR ticket 17" }, Ct);
            Assert.Equal(WriteStatus.Applied, erased.Status);
            Assert.Null(await nv.Pipeline.ReadAsync("Customer", "ada", Ct));
            Assert.NotNull(await nv.Pipeline.ReadAsync("Customer", "bob", Ct));

            var wal = nv.Services.GetRequiredService<IWriteAheadLog>();
            var records = await ReadWal(wal);
            var c1 = records.Single(r => r.RequestId == "c1");
            oldKey = c1.PayloadKeyId!.Value;
            Assert.True(c1.PayloadUnavailable); // shredded: the ciphertext is still there, its key is not
            Assert.False(records.Single(r => r.RequestId == "c2").PayloadUnavailable);
            Assert.Equal(WalOperation.Erase, records[^1].Operation);
            Assert.Empty(await ((IDataKeyStore)nv.Services.GetRequiredService<IDbWriter>()).FindKeysAsync([oldKey], Ct));

            // A retry of the erasure is a replay of its first outcome; a new write to the subject is a new life.
            var retry = await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "GDPR ticket 17" }, Ct);
            Assert.True(retry.IsReplay);
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c3", WalOperation.Create, "ada", new { name = "Ada 2" }), Ct)).Status);
            var c3 = (await ReadWal(wal)).Single(r => r.RequestId == "c3");
            Assert.NotEqual(oldKey, c3.PayloadKeyId);
        }

        await using var again = await StartAsync(key);
        Assert.Equal("Ada 2", (await again.Pipeline.ReadAsync("Customer", "ada", Ct))!.Document.GetProperty("name").GetString());
        var all = await ReadWal(again.Services.GetRequiredService<IWriteAheadLog>());
        Assert.True(all.Single(r => r.RequestId == "c1").PayloadUnavailable);
        var stats = await ((IDataKeyStore)again.Services.GetRequiredService<IDbWriter>()).GetKeyStatisticsAsync(Ct);
        Assert.Equal(1, stats.Erasures);
    }

    [Fact]
    public async Task After_a_restart_writes_in_one_commit_batch_keep_their_subjects_stored_keys_and_new_subjects_get_new_ones()
    {
        // The commit stage looks up the subjects of a whole batch at once: known subjects must find their stored key
        // (not a fresh one), new subjects must each get their own, and an erasure in the same batch still ends a key.
        var key = MasterKey();
        var stored = new Dictionary<string, Guid>();
        await using (var nv = await StartAsync(key))
        {
            for (var i = 0; i < 6; i++)
            {
                Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write($"c{i}", WalOperation.Create, $"k{i}", new { n = 0 }), Ct)).Status);
            }

            foreach (var record in await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>()))
            {
                stored[record.EntityId] = record.PayloadKeyId!.Value;
            }
        }

        await using (var again = await StartAsync(key))
        {
            var writes = new List<Task<WriteOutcome>>();
            for (var i = 0; i < 6; i++)
            {
                writes.Add(again.Pipeline.WriteAsync(Write($"u{i}", WalOperation.Update, $"k{i}", new { n = 1 }), Ct));
                writes.Add(again.Pipeline.WriteAsync(Write($"n{i}", WalOperation.Create, $"new{i}", new { n = 1 }), Ct));
            }

            var erase = again.Pipeline.EraseAsync(new EraseRequest { RequestId = "e0", DtoType = "Customer", EntityId = "k0", Reason = "ticket" }, Ct);
            var reborn = again.Pipeline.WriteAsync(Write("r0", WalOperation.Create, "k0", new { n = 2 }), Ct);
            Assert.All(await Task.WhenAll(writes), o => Assert.Equal(WriteStatus.Applied, o.Status));
            Assert.Equal(WriteStatus.Applied, (await erase).Status);
            Assert.Equal(WriteStatus.Applied, (await reborn).Status);

            var records = await ReadWal(again.Services.GetRequiredService<IWriteAheadLog>());
            for (var i = 1; i < 6; i++)
            {
                Assert.Equal(stored[$"k{i}"], records.Single(r => r.RequestId == $"u{i}").PayloadKeyId);
            }

            var fresh = Enumerable.Range(0, 6).Select(i => records.Single(r => r.RequestId == $"n{i}").PayloadKeyId!.Value).ToList();
            Assert.Equal(6, fresh.Distinct().Count());
            Assert.DoesNotContain(fresh, stored.ContainsValue);
            var r0 = records.Single(r => r.RequestId == "r0");
            Assert.NotEqual(stored["k0"], r0.PayloadKeyId);
            Assert.False(r0.PayloadUnavailable);
            Assert.Equal(2, (await again.Pipeline.ReadAsync("Customer", "k0", Ct))!.Document.GetProperty("n").GetInt32());
        }
    }

    [Fact]
    public async Task Audit_entries_are_sealed_and_after_an_erasure_read_as_erased_while_the_trail_and_its_proofs_verify()
    {
        var key = MasterKey();
        await using (var nv = await StartAsync(key))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = Secret, n = 1 }) with { Ack = AckLevel.Audited }, Ct);
            await nv.Pipeline.WriteAsync(Write("u1", WalOperation.Update, "ada", new { name = Secret, n = 2 }) with { Ack = AckLevel.Audited }, Ct);
            await nv.Pipeline.WriteAsync(Write("c2", WalOperation.Create, "bob", new { name = "Bob" }) with { Ack = AckLevel.Audited }, Ct);
            var history = await nv.Pipeline.GetHistoryAsync("Customer", "ada", cancellationToken: Ct);
            Assert.Equal(2, history.Entries.Count);
            Assert.All(history.Entries, e => Assert.False(e.Erased));
            Assert.All(history.Entries, e => Assert.Equal(Secret, e.After!.Value.GetProperty("name").GetString())); // opened with the key
            var stored = (await nv.Services.GetRequiredService<Nv.Audit.IAuditSink>().GetAsync(history.Entries[0].Id, Ct))!;
            Assert.Equal(3, stored.EncodingVersion);
            Assert.NotNull(stored.KeyId);
            Assert.Null(stored.After); // the store holds only the ciphertext
        }

        var audit = Path.Combine(Data, "audit.db");
        Assert.False(Holds([.. Directory.GetFiles(Data, "audit.db*").SelectMany(File.ReadAllBytes)], "Whitcher"));

        await using (var nv = await StartAsync(key))
        {
            var erased = await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "GDPR ticket 17" }, Ct);
            Assert.Equal(WriteStatus.Applied, erased.Status);
        }

        await using var again = await StartAsync(key);
        var adaHistory = await again.Pipeline.GetHistoryAsync("Customer", "ada", cancellationToken: Ct);
        Assert.Equal(2, adaHistory.Entries.Count);
        Assert.All(adaHistory.Entries, e => Assert.True(e.Erased));
        Assert.All(adaHistory.Entries, e => Assert.Null(e.After));
        Assert.All(adaHistory.Entries, e => Assert.Empty(e.Changes));
        var bob = Assert.Single((await again.Pipeline.GetHistoryAsync("Customer", "bob", cancellationToken: Ct)).Entries);
        Assert.False(bob.Erased);
        Assert.Equal("Bob", bob.After!.Value.GetProperty("name").GetString());
        var erasure = Assert.Single((await again.Pipeline.QueryAuditAsync(new Nv.Audit.AuditQuery { Category = Nv.Audit.AuditCategory.DataErasure, Limit = 10 }, Ct)).Entries);
        Assert.Equal("ada", erasure.EntityId);
        Assert.Null(erasure.Before);
        Assert.Null(erasure.After);

        var proofs = (Nv.Audit.IAuditProofs)again.Services.GetRequiredService<Nv.Audit.IAuditSink>();
        var verified = await proofs.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        foreach (var entry in adaHistory.Entries)
        {
            var proof = (await proofs.GetInclusionProofAsync(entry.Id, cancellationToken: Ct))!;
            Assert.True(proof.Verify());
        }

        var size = (await proofs.GetConsistencyProofAsync(erasure.Service, 1, erasure.Sequence, Ct)).Verify();
        Assert.True(size);
        Assert.True(File.Exists(audit));
    }

    // Every file under the data directory, and the host's log lines, as bytes. A file the running host deletes between the
    // listing and the read (FasterLog drops older commit files; it failed a fresh-clone run once) is no longer on disk.
    private List<(string Path, byte[] Bytes)> EveryFile()
    {
        var files = new List<(string Path, byte[] Bytes)>();
        foreach (var path in Directory.GetFiles(Data, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            if (ReadShared(path) is { } bytes)
            {
                files.Add((path, bytes));
            }
        }

        return files;
    }

    // Read beside the running host (which holds its files open); the WAL's lock file is held exclusively and empty. Null:
    // deleted since it was listed.
    private static byte[]? ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static void AssertNowhere(IEnumerable<(string Path, byte[] Bytes)> files, params string[] secrets)
    {
        foreach (var (path, bytes) in files)
        {
            foreach (var secret in secrets)
            {
                Assert.False(Holds(bytes, secret), $"{Path.GetFileName(path)} still holds \"{secret}\"");
            }
        }
    }

    [Fact]
    public async Task After_an_erasure_no_byte_of_the_subjects_payloads_is_left_in_any_file_under_the_data_directory()
    {
        // Distinct, long enough to never occur by chance: one per image the subject ever had (create, update, batch, a
        // patch-like update that only changes a field, and a delete's before image of a second entity of the subject).
        string[] secrets = ["Hilda-Whitcher-create-4711", "Hilda-Whitcher-update-4712", "Hilda-Whitcher-batch-4713", "ssn-078-05-1120-x", "Ada-order-item-4714"];
        var key = MasterKey();
        await using (var nv = await StartAsync(key, new() { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" }))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = secrets[0], ssn = secrets[3] }), Ct);
            await nv.Pipeline.WriteAsync(Write("u1", WalOperation.Update, "ada", new { name = secrets[1], ssn = secrets[3] }), Ct);
            await nv.Pipeline.WriteBatchAsync(new BatchRequest
            {
                RequestId = "b1",
                Items =
                [
                    new BatchItem { Operation = BatchOperation.Update, DtoType = "Customer", EntityId = "ada", Payload = JsonSerializer.SerializeToElement(new { name = secrets[2], ssn = secrets[3] }) },
                    new BatchItem { Operation = BatchOperation.Create, DtoType = "Customer", EntityId = "bob", Payload = JsonSerializer.SerializeToElement(new { name = "Bob-Visible-9001" }) },
                ],
            }, Ct);
            await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "ada", item = secrets[4] }, "Order"), Ct);
            await nv.Pipeline.WriteAsync(Write("o1d", WalOperation.Delete, "o-1", dtoType: "Order"), Ct);
            await nv.Pipeline.WriteAsync(Write("o2", WalOperation.Create, "o-2", new { customerId = "ada", item = secrets[4] }, "Order") with { Ack = AckLevel.Audited }, Ct);

            Assert.True(EveryFile().Any(f => Holds(f.Bytes, secrets[2])), "the live entity is stored in plain text before the erasure");
            var erased = await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "GDPR ticket 17" }, Ct);
            Assert.Equal(WriteStatus.Applied, erased.Status);

            // While the host runs: the erasure scrubbed the entity store (secure_delete, TRUNCATE checkpoint).
            AssertNowhere(EveryFile(), secrets);
            Assert.True(EveryFile().Any(f => Holds(f.Bytes, "Bob-Visible-9001")), "the scan sees plain text where there is some");
            Assert.DoesNotContain(nv.Logs.GetSnapshot(), r => secrets.Any(s => r.Message.Contains(s, StringComparison.Ordinal)));
        }

        AssertNowhere(EveryFile(), secrets); // after a clean stop (checkpoints at close)
        await using (var again = await StartAsync(key, new() { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" }))
        {
            Assert.Null(await again.Pipeline.ReadAsync("Customer", "ada", Ct));
            Assert.Null(await again.Pipeline.ReadAsync("Order", "o-2", Ct));
            Assert.NotNull(await again.Pipeline.ReadAsync("Customer", "bob", Ct));
        }

        AssertNowhere(EveryFile(), secrets);
    }

    [Fact]
    public async Task Entities_written_before_their_type_was_mapped_are_mapped_at_the_next_start_and_erased_with_their_subject()
    {
        // Orders written while encryption was on but Order was not mapped yet: each sealed under its own key. The mapping
        // added later must reach them: the customer's erasure deletes them and destroys their whole sealed history.
        string[] secrets = ["pre-mapping-order-4801", "pre-mapping-update-4802", "unnamed-order-4803", "deleted-after-mapping-4804"];
        var key = MasterKey();
        var mapped = new Dictionary<string, string?> { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" };
        await using (var nv = await StartAsync(key))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = "Ada" }), Ct);
            await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "ada", item = secrets[0] }, "Order"), Ct);
            await nv.Pipeline.WriteAsync(Write("o1u", WalOperation.Update, "o-1", new { customerId = "ada", item = secrets[1] }, "Order"), Ct);
            await nv.Pipeline.WriteAsync(Write("o2", WalOperation.Create, "o-2", new { item = secrets[2] }, "Order"), Ct); // names no customer
            await nv.Pipeline.WriteAsync(Write("o3", WalOperation.Create, "o-3", new { customerId = "bob", item = "Bob-Order-9002" }, "Order"), Ct);
            await nv.Pipeline.WriteAsync(Write("o4", WalOperation.Create, "o-4", new { customerId = "ada", item = secrets[3] }, "Order") with { Ack = AckLevel.Audited }, Ct);
        }

        await using (var nv = await StartAsync(key, mapped))
        {
            // Read here, so this process holds o-2's own key under its old subject when the update below hands it to ada.
            Assert.All((await nv.Pipeline.GetHistoryAsync("Order", "o-2", cancellationToken: Ct)).Entries, e => Assert.False(e.Erased));
            // o-2 names its customer only now: applying that write hands its own keys (its earlier history) to ada.
            await nv.Pipeline.WriteAsync(Write("o2u", WalOperation.Update, "o-2", new { customerId = "ada", item = "now-named" }, "Order") with { Ack = AckLevel.Audited }, Ct);
            // A delete takes the subject the start's mapping stored: its entry (the before image) is sealed under ada's key.
            await nv.Pipeline.WriteAsync(Write("o4d", WalOperation.Delete, "o-4", dtoType: "Order") with { Ack = AckLevel.Audited }, Ct);
            var erased = await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "GDPR ticket 18" }, Ct);
            Assert.Equal(WriteStatus.Applied, erased.Status);

            Assert.Null(await nv.Pipeline.ReadAsync("Order", "o-1", Ct));
            Assert.Null(await nv.Pipeline.ReadAsync("Order", "o-2", Ct));
            Assert.NotNull(await nv.Pipeline.ReadAsync("Order", "o-3", Ct));
            foreach (var order in new[] { "o-1", "o-2", "o-4" })
            {
                var history = await nv.Pipeline.GetHistoryAsync("Order", order, cancellationToken: Ct);
                Assert.NotEmpty(history.Entries);
                Assert.All(history.Entries, e => Assert.True(e.Erased, $"{order}: {e.Operation} is still readable"));
            }

            Assert.All((await nv.Pipeline.GetHistoryAsync("Order", "o-3", cancellationToken: Ct)).Entries, e => Assert.False(e.Erased));
            AssertNowhere(EveryFile(), secrets);
            Assert.Contains(nv.Logs.GetSnapshot(), r => r.Message.Contains("1 stored Order entities written before Order was mapped", StringComparison.Ordinal));
        }

        await using var again = await StartAsync(key, mapped);
        Assert.All((await again.Pipeline.GetHistoryAsync("Order", "o-1", cancellationToken: Ct)).Entries, e => Assert.True(e.Erased));
        var verified = await ((Nv.Audit.IAuditProofs)again.Services.GetRequiredService<Nv.Audit.IAuditSink>()).VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        AssertNowhere(EveryFile(), secrets);
    }

    private static AuditEventRequest Event(string requestId, string? dtoType, string entityId, object after, object? before = null) => new()
    {
        RequestId = requestId,
        Category = Nv.Audit.AuditCategory.Permission,
        Operation = "role-granted",
        DtoType = dtoType,
        EntityId = entityId,
        UserId = "alice",
        Before = before is null ? null : JsonSerializer.SerializeToElement(before),
        After = JsonSerializer.SerializeToElement(after),
    };

    private static async Task<IReadOnlyList<Nv.Audit.AuditEntry>> Events(NvTestHost nv) =>
        (await nv.Pipeline.QueryAuditAsync(new Nv.Audit.AuditQuery { Category = Nv.Audit.AuditCategory.Permission, Limit = 10 }, Ct)).Entries;

    [Fact]
    public async Task Custom_audit_events_are_sealed_under_their_subjects_key_and_an_erasure_of_the_subject_reaches_them()
    {
        string[] adaSecrets = ["Ada-event-before-4801", "Ada-event-after-4802", "Ada-order-event-4803", "Ada-unstored-order-4807"];
        string[] otherSecrets = ["Bob-event-4804", "Report-event-4805"];
        var key = MasterKey();
        var mapped = new Dictionary<string, string?> { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" };
        await using (var nv = await StartAsync(key, mapped))
        {
            await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = "Ada" }), Ct);
            await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "ada" }, "Order"), Ct);
            var events = nv.Services.GetRequiredService<IAuditEventWriter>();
            await events.RecordAsync(Event("ev1", "Customer", "ada", before: new { tier = adaSecrets[0] }, after: new { tier = adaSecrets[1] }), Ct);
            await events.RecordAsync(Event("ev2", "Order", "o-1", new { note = adaSecrets[2] }), Ct);
            await events.RecordAsync(Event("ev3", "Customer", "bob", new { note = otherSecrets[0] }), Ct);
            await events.RecordAsync(Event("ev4", null, "report-7", new { note = otherSecrets[1] }), Ct);
            // An order nothing stores yet: its image names the customer; without that field no subject is known, so it is refused.
            await events.RecordAsync(Event("ev5", "Order", "o-9", new { customerId = "ada", note = adaSecrets[3] }), Ct);
            var unnamed = await Assert.ThrowsAsync<WriteValidationException>(() => events.RecordAsync(Event("ev6", "Order", "o-9", new { note = "Unnamed-4806" }), Ct));
            Assert.Contains("customerId", unnamed.Message, StringComparison.Ordinal);

            var records = (await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).ToDictionary(r => r.RequestId);
            Assert.Equal(records["c1"].PayloadKeyId, records["ev1"].PayloadKeyId); // the customer's own key
            Assert.Equal(records["c1"].PayloadKeyId, records["ev2"].PayloadKeyId); // an order's event: its customer's key
            Assert.Equal(("Customer/ada", "Customer/bob", "_event/report-7"), (records["ev2"].Subject, records["ev3"].Subject, records["ev4"].Subject));
            Assert.Equal(records["c1"].PayloadKeyId, records["ev5"].PayloadKeyId); // named by its image
            Assert.False(records.ContainsKey("ev6")); // refused: nothing written
            Assert.All(new[] { "ev1", "ev2", "ev3", "ev4", "ev5" }, id => Assert.Equal(("permission", "role-granted"), (records[id].EventCategory, records[id].EventOperation)));
        }

        AssertNowhere(EveryFile(), [.. adaSecrets, .. otherSecrets]); // sealed in the WAL and in the audit store alike

        // A restart deletes the pool keys no store assigned: every event still opens, so the apply assigned their keys.
        await using (var nv = await StartAsync(key, mapped))
        {
            var entries = await Events(nv);
            Assert.Equal(5, entries.Count);
            Assert.All(entries, e => Assert.False(e.Erased));
            Assert.Equal(adaSecrets[1], entries.Single(e => e.RequestId == "ev1").After!.Value.GetProperty("tier").GetString());
            Assert.Equal(otherSecrets[1], entries.Single(e => e.RequestId == "ev4").After!.Value.GetProperty("note").GetString());

            var erased = await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "GDPR ticket 18" }, Ct);
            Assert.Equal(WriteStatus.Applied, erased.Status);
            AssertNowhere(EveryFile(), adaSecrets);
            Assert.DoesNotContain(nv.Logs.GetSnapshot(), r => adaSecrets.Any(s => r.Message.Contains(s, StringComparison.Ordinal)));
        }

        await using var again = await StartAsync(key, mapped);
        var after = (await Events(again)).ToDictionary(e => e.RequestId);
        foreach (var id in new[] { "ev1", "ev2", "ev5" })
        {
            Assert.True(after[id].Erased, id);
            Assert.Null(after[id].After);
            Assert.Empty(after[id].Changes);
            Assert.Equal((Nv.Audit.AuditCategory.Permission, "role-granted"), (after[id].Category, after[id].Operation)); // still shown
        }

        Assert.Equal(otherSecrets[0], after["ev3"].After!.Value.GetProperty("note").GetString());
        Assert.Equal(otherSecrets[1], after["ev4"].After!.Value.GetProperty("note").GetString());
        var verified = await ((Nv.Audit.IAuditProofs)again.Services.GetRequiredService<Nv.Audit.IAuditSink>()).VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
    }

    // What a caller does on 409 subject-pending: retry (here every 50 ms, for up to 10 s); null if it never went through.
    private static async Task<WriteOutcome?> WhileSubjectPendingAsync(Func<Task<WriteOutcome>> write)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                return await write();
            }
            catch (SubjectPendingException)
            {
                await Task.Delay(50, Ct);
            }
        }

        return null;
    }

    [Fact]
    public async Task A_delete_or_an_unnamed_event_of_a_mapped_entity_is_refused_as_retryable_while_a_write_that_may_change_its_subject_is_unapplied()
    {
        var mapped = new Dictionary<string, string?> { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" };
        await using var nv = await StartAsync(MasterKey(), mapped);
        await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = "Ada" }), Ct); // ada's key exists before the apply is held
        var events = nv.Services.GetRequiredService<IAuditEventWriter>();

        // Hold the apply of the order's create (acknowledged once durable), as a slow database or a racing client would.
        using var hold = ApplyHold.Next(nv.Services.GetRequiredService<IDbWriter>());
        try
        {
            var created = await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-5", new { customerId = "ada", item = "Ada-order-5" }, "Order") with { Ack = AckLevel.Durable }, Ct);
            Assert.Equal(WriteStatus.Accepted, created.Status);
            Assert.True(await hold.ReachedAsync(TimeSpan.FromSeconds(30), Ct), "the create's apply was not held");

            // The store holds no subject for o-5 yet: sealed under Order/o-5, the delete's before image (ada's order) would
            // outlive ada's erasure. Refused, nothing written, the caller retries.
            await Assert.ThrowsAsync<SubjectPendingException>(() => nv.Pipeline.WriteAsync(Write("d1", WalOperation.Delete, "o-5", dtoType: "Order"), Ct));
            await Assert.ThrowsAsync<SubjectPendingException>(() => events.RecordAsync(Event("ev1", "Order", "o-5", new { note = "shipped" }), Ct));
            await Assert.ThrowsAsync<SubjectPendingException>(() => nv.Pipeline.WriteBatchAsync(new BatchRequest
            {
                RequestId = "b1",
                Items = [new BatchItem { Operation = BatchOperation.Delete, DtoType = "Order", EntityId = "o-5" }],
            }, Ct));
            var named = await events.RecordAsync(Event("ev2", "Order", "o-5", new { customerId = "ada", note = "packed" }) with { Ack = AckLevel.Durable }, Ct);
            Assert.Equal(WriteStatus.Accepted, named.Status); // its image names the subject: no need to wait
        }
        finally
        {
            hold.Release();
        }

        var deleted = await WhileSubjectPendingAsync(() => nv.Pipeline.WriteAsync(Write("d2", WalOperation.Delete, "o-5", dtoType: "Order"), Ct));

        Assert.Equal(WriteStatus.Applied, deleted?.Status);
        var records = (await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).ToDictionary(r => r.RequestId);
        Assert.False(records.ContainsKey("d1"));
        Assert.False(records.ContainsKey("ev1"));
        Assert.False(records.ContainsKey("b1"));
        Assert.Equal(("Customer/ada", "Customer/ada"), (records["d2"].Subject, records["ev2"].Subject));
    }

    [Fact]
    public async Task An_unapplied_update_that_keeps_its_subject_lets_a_delete_through_and_one_that_moves_it_holds_the_delete_back()
    {
        var mapped = new Dictionary<string, string?> { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" };
        await using var nv = await StartAsync(MasterKey(), mapped);
        await nv.Pipeline.WriteAsync(Write("ca", WalOperation.Create, "ada", new { name = "Ada" }), Ct);
        await nv.Pipeline.WriteAsync(Write("cb", WalOperation.Create, "bob", new { name = "Bob" }), Ct);
        await nv.Pipeline.WriteAsync(Write("o6", WalOperation.Create, "o-6", new { customerId = "ada", n = 1 }, "Order"), Ct);
        await nv.Pipeline.WriteAsync(Write("o7", WalOperation.Create, "o-7", new { customerId = "ada", n = 1 }, "Order"), Ct);

        using var hold = ApplyHold.Next(nv.Services.GetRequiredService<IDbWriter>());
        try
        {
            var kept = await nv.Pipeline.WriteAsync(Write("u6", WalOperation.Update, "o-6", new { customerId = "ada", n = 2 }, "Order") with { Ack = AckLevel.Durable }, Ct);
            Assert.True(await hold.ReachedAsync(TimeSpan.FromSeconds(30), Ct), "the update's apply was not held");
            var moved = await nv.Pipeline.WriteAsync(Write("u7", WalOperation.Update, "o-7", new { customerId = "bob", n = 2 }, "Order") with { Ack = AckLevel.Durable }, Ct);
            Assert.Equal((WriteStatus.Accepted, WriteStatus.Accepted), (kept.Status, moved.Status));

            // o-6 stays ada's whatever its update's outcome: its delete goes through. o-7 may become bob's: held back.
            var deleted = await nv.Pipeline.WriteAsync(Write("d6", WalOperation.Delete, "o-6", dtoType: "Order") with { Ack = AckLevel.Durable }, Ct);
            Assert.Equal(WriteStatus.Accepted, deleted.Status);
            await Assert.ThrowsAsync<SubjectPendingException>(() => nv.Pipeline.WriteAsync(Write("d7", WalOperation.Delete, "o-7", dtoType: "Order"), Ct));
        }
        finally
        {
            hold.Release();
        }

        var retried = await WhileSubjectPendingAsync(() => nv.Pipeline.WriteAsync(Write("d7b", WalOperation.Delete, "o-7", dtoType: "Order"), Ct));

        Assert.Equal(WriteStatus.Applied, retried?.Status);
        Assert.Null(await nv.Pipeline.ReadAsync("Order", "o-6", Ct)); // the delete that went through was applied after its update
        var records = (await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).ToDictionary(r => r.RequestId);
        Assert.Equal(("Customer/ada", "Customer/bob"), (records["d6"].Subject, records["d7b"].Subject));
        Assert.False(records.ContainsKey("d7"));
    }

    [Fact]
    public async Task Erasure_without_encryption_is_refused_and_writes_nothing()
    {
        await using var nv = await NvTestHost.StartAsync(Data);
        await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = Secret }), Ct);
        var ex = await Assert.ThrowsAsync<WriteValidationException>(() =>
            nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "r" }, Ct));
        Assert.Contains("encryption at rest is off", ex.Message);
        Assert.NotNull(await nv.Pipeline.ReadAsync("Customer", "ada", Ct));
        Assert.DoesNotContain(await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>()), r => r.Operation == WalOperation.Erase);
    }

    [Fact]
    public async Task An_erasure_refused_as_too_large_leaves_the_subject_on_its_stored_key()
    {
        // The commit stage announces an erasure to the key ring before appending it; when the WAL refused the record as
        // too large the announcement stayed, and every later write of the subject took a new key instead of its own.
        var key = MasterKey();
        await using var nv = await StartAsync(key, new() { ["Nv:Wal:MaxRecordBytes"] = "8192", ["Nv:Pipeline:MaxPayloadBytes"] = "4096",
            ["Nv:Pipeline:MaxBatchBytes"] = "8192" });
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = "Ada" }), Ct)).Status);
        var metadata = Enumerable.Range(0, 16).ToDictionary(i => "k" + i, _ => new string('x', 600));

        var refused = await Assert.ThrowsAsync<WriteValidationException>(() => nv.Pipeline.EraseAsync(
            new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "ticket", Metadata = metadata }, Ct));
        Assert.True(refused.IsTooLarge);

        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("u1", WalOperation.Update, "ada", new { name = "Ada L." }), Ct)).Status);
        var records = await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>());
        Assert.Equal(records.Single(r => r.RequestId == "c1").PayloadKeyId, records.Single(r => r.RequestId == "u1").PayloadKeyId);
    }

    /// <summary>Fails without the finally in WritePipeline.AssignKeysAsync: its catch withdrew an announced erasure for every
    /// exception but a cancellation, so after one the key ring kept the subject marked as being erased (until a restart)
    /// and handed it a new key instead of its stored one.</summary>
    [Fact]
    public async Task An_erasure_whose_key_assignment_is_cancelled_leaves_the_subject_on_its_stored_key()
    {
        var key = MasterKey();
        await using var nv = await StartAsync(key, new() { ["Nv:Pipeline:StopHostOnFault"] = "false" });
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = "Ada" }), Ct)).Status);
        var stored = (await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).Single(r => r.RequestId == "c1").PayloadKeyId;
        var pipeline = (WritePipeline)nv.Pipeline;
        var injected = 0;
        // After the erasure is announced to the key ring, before its batch is appended (as a stop cancelling the store's
        // reads would raise it; an unexpected cancellation faults the commit stage, every waiting caller is answered).
        pipeline.InjectKeyAssignmentFailure = () => Interlocked.Exchange(ref injected, 1) == 0 ? new OperationCanceledException("injected") : null;

        await Assert.ThrowsAsync<PipelineUnavailableException>(() => nv.Pipeline.EraseAsync(
            new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "ticket" }, Ct));

        Assert.Equal(1, injected);
        Assert.Null((await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).SingleOrDefault(r => r.RequestId == "e1")); // never appended
        // The commit stage is stopped (faulted), so the test may ask the ring as it would: the subject's stored key.
        Assert.Equal(stored, await nv.Services.GetRequiredService<KeyRing>().KeyForAsync(SubjectResolver.Of("Customer", "ada"), Ct));
    }

    /// <summary>Fails without WritePipeline.WithdrawErasures: an erasure handed over to the appends whose append never
    /// happened (the commit stage left its batch early: a stop's cancellation at the append, a WAL fault) kept its
    /// announcement, so the key ring kept the subject marked as being erased (until a restart) and handed it a new key
    /// instead of its stored one.</summary>
    [Fact]
    public async Task An_erasure_whose_append_is_cancelled_after_the_key_assignment_leaves_the_subject_on_its_stored_key()
    {
        var key = MasterKey();
        await using var nv = await StartAsync(key, new() { ["Nv:Pipeline:StopHostOnFault"] = "false" });
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = "Ada" }), Ct)).Status);
        var stored = (await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).Single(r => r.RequestId == "c1").PayloadKeyId;
        var pipeline = (WritePipeline)nv.Pipeline;
        var injected = 0;
        // At the erasure's append, after the key assignment announced it and handed the batch over (as a stop's token,
        // cancelled meanwhile, makes the WAL's AppendAsync throw before it writes anything).
        pipeline.InjectAppendFailure = operation => operation == WalOperation.Erase && Interlocked.Exchange(ref injected, 1) == 0
            ? new OperationCanceledException("injected") : null;

        await Assert.ThrowsAsync<PipelineUnavailableException>(() => nv.Pipeline.EraseAsync(
            new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "ticket" }, Ct));

        Assert.Equal(1, injected);
        Assert.Null((await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>())).SingleOrDefault(r => r.RequestId == "e1")); // never appended
        // The commit stage is stopped (faulted), so the test may ask the ring as it would: the subject's stored key, not a
        // new one from the pool (what the ring hands a subject whose erasure is on its way).
        Assert.Equal(stored, await nv.Services.GetRequiredService<KeyRing>().KeyForAsync(SubjectResolver.Of("Customer", "ada"), Ct));
    }

    [Fact]
    public async Task A_write_of_a_mapped_type_that_names_no_subject_is_refused_and_writes_nothing()
    {
        // Sealed under the entity's own key instead, such a write left the entity mapped to its earlier subject: that
        // subject's erasure then deleted the entity while its current data, under a key nobody destroys, stayed readable.
        var key = MasterKey();
        await using var nv = await StartAsync(key, new() { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" });
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "c-17", n = 1 }, "Order"), Ct)).Status);
        var wal = nv.Services.GetRequiredService<IWriteAheadLog>();
        var before = wal.LastLsn;

        var missing = await Assert.ThrowsAsync<WriteValidationException>(() =>
            nv.Pipeline.WriteAsync(Write("u1", WalOperation.Update, "o-1", new { n = 2 }, "Order"), Ct));
        Assert.Equal("payload/customerId", missing.Field);
        await Assert.ThrowsAsync<WriteValidationException>(() =>
            nv.Pipeline.WriteAsync(Write("u2", WalOperation.Update, "o-1", new { customerId = new { id = 1 }, n = 2 }, "Order"), Ct));
        var inBatch = await Assert.ThrowsAsync<WriteValidationException>(() => nv.Pipeline.WriteBatchAsync(new BatchRequest
        {
            RequestId = "b1",
            Items = [new BatchItem { Operation = BatchOperation.Create, DtoType = "Order", EntityId = "o-2", Payload = JsonSerializer.SerializeToElement(new { n = 1 }) }],
        }, Ct));
        Assert.Equal("items/0/payload/customerId", inBatch.Field);
        Assert.Equal(before, wal.LastLsn);

        // A numeric id names a subject too; other types are not affected.
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("u3", WalOperation.Update, "o-1", new { customerId = 17, n = 3 }, "Order"), Ct)).Status);
        Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "c-17", new { n = 1 }), Ct)).Status);
    }

    [Fact]
    public async Task A_retried_patch_of_a_mapped_type_gets_its_first_outcome_though_its_patch_names_no_subject()
    {
        // A PATCH retry is submitted with the patch as sent (the merge target has moved on), which need not carry the
        // subject field: the subject check must not refuse a request whose id already has an outcome.
        var key = MasterKey();
        var settings = new Dictionary<string, string?> { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" };
        WriteRequest Patch(object payload) => Write("p1", WalOperation.Update, "o-1", payload, "Order") with { Fingerprint = new string('a', 64) };
        await using (var nv = await StartAsync(key, settings))
        {
            await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "c-17", n = 1 }, "Order"), Ct);
            Assert.Equal(WriteStatus.Applied, (await nv.Pipeline.WriteAsync(Patch(new { customerId = "c-17", n = 2 }), Ct)).Status);
            var retry = await nv.Pipeline.WriteAsync(Patch(new { n = 2 }), Ct);
            Assert.True(retry.IsReplay);
            Assert.Equal(WriteStatus.Applied, retry.Status);
        }

        await using var again = await StartAsync(key, settings); // the retry found in the store, not in memory
        var afterRestart = await again.Pipeline.WriteAsync(Patch(new { n = 2 }), Ct);
        Assert.True(afterRestart.IsReplay);
        Assert.Equal(WriteStatus.Applied, afterRestart.Status);
    }

    [Fact]
    public async Task An_erasure_that_cannot_empty_the_entity_stores_wal_file_says_so_and_a_retry_empties_it()
    {
        // A reader holding nv.db-wal keeps the TRUNCATE checkpoint from finishing: the erasure was answered as if scrubbed
        // while the page images of the erased rows stayed in that file. It now says so (and a retry scrubs again).
        var key = MasterKey();
        await using var nv = await StartAsync(key);
        await nv.Pipeline.WriteAsync(Write("c1", WalOperation.Create, "ada", new { name = Secret }), Ct);
        var erase = new EraseRequest { RequestId = "e1", DtoType = "Customer", EntityId = "ada", Reason = "ticket" };
        WriteOutcome held;
        using (var reader = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(Data, "nv.db")};Pooling=False"))
        {
            reader.Open();
            using var transaction = reader.BeginTransaction(deferred: true);
            using (var read = reader.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = "SELECT count(*) FROM _nv_meta";
                read.ExecuteScalar(); // a read transaction on the current WAL snapshot
            }

            held = await nv.Pipeline.EraseAsync(erase, Ct);
        }

        Assert.Equal(WriteStatus.Applied, held.Status);
        Assert.Equal(WritePipeline.Unscrubbed, held.Detail);

        var retry = await nv.Pipeline.EraseAsync(erase, Ct);
        Assert.True(retry.IsReplay);
        Assert.Null(retry.Detail);
        Assert.Equal(0, new FileInfo(Path.Combine(Data, "nv.db-wal")).Length);
    }

    [Fact]
    public async Task Erasing_an_entity_of_a_mapped_type_is_refused_with_the_subject_to_erase_and_writes_nothing()
    {
        // An Order is sealed under its customer's key: "erasing" Order/o-1 destroyed no key (its history stayed readable)
        // yet answered as an erasure. It is refused now, naming the subject whose erasure reaches the order.
        var key = MasterKey();
        await using var nv = await StartAsync(key, new() { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" });
        await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "c-17", item = "book" }, "Order"), Ct);
        var wal = nv.Services.GetRequiredService<IWriteAheadLog>();
        var before = wal.LastLsn;

        var refused = await Assert.ThrowsAsync<WriteValidationException>(() =>
            nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e", DtoType = "Order", EntityId = "o-1", Reason = "request 9" }, Ct));

        Assert.Contains("Customer", refused.Message, StringComparison.Ordinal);
        Assert.Contains("customerId", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, wal.LastLsn);
        Assert.NotNull(await nv.Pipeline.ReadAsync("Order", "o-1", Ct));
    }

    [Fact]
    public async Task A_subject_from_a_payload_field_is_erased_with_its_orders_across_types()
    {
        var key = MasterKey();
        await using var nv = await StartAsync(key, new() { ["Nv:Encryption:Subjects:Order"] = "Customer:customerId" });
        await nv.Pipeline.WriteAsync(Write("c", WalOperation.Create, "c-17", new { name = Secret }), Ct);
        await nv.Pipeline.WriteAsync(Write("o1", WalOperation.Create, "o-1", new { customerId = "c-17", item = "Whitcher's book" }, "Order"), Ct);
        await nv.Pipeline.WriteAsync(Write("o2", WalOperation.Create, "o-2", new { customerId = "c-18", item = "other" }, "Order"), Ct);

        var records = await ReadWal(nv.Services.GetRequiredService<IWriteAheadLog>());
        Assert.Equal("Customer/c-17", records.Single(r => r.RequestId == "o1").Subject);
        Assert.Equal(records.Single(r => r.RequestId == "c").PayloadKeyId, records.Single(r => r.RequestId == "o1").PayloadKeyId);

        await nv.Pipeline.EraseAsync(new EraseRequest { RequestId = "e", DtoType = "Customer", EntityId = "c-17", Reason = "request 9" }, Ct);
        Assert.Null(await nv.Pipeline.ReadAsync("Customer", "c-17", Ct));
        Assert.Null(await nv.Pipeline.ReadAsync("Order", "o-1", Ct));
        Assert.NotNull(await nv.Pipeline.ReadAsync("Order", "o-2", Ct));
    }

    public void Dispose()
    {
        _dir.Dispose();
        _keys.Dispose();
    }
}
