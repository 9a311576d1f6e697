using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Integration.Tests.Audit;

public sealed class SqliteAuditSinkTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Canon(System.Text.Json.JsonElement? value) => value is { } v ? CanonicalJson.ToText(v) : "<absent>";

    private static void AssertSameContent(AuditEntry expected, AuditEntry actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Timestamp, actual.Timestamp);
        Assert.Equal(
            (expected.Service, expected.Category, expected.Operation, expected.UserId, expected.DtoType, expected.EntityId, expected.Reason, expected.RequestId, expected.Lsn),
            (actual.Service, actual.Category, actual.Operation, actual.UserId, actual.DtoType, actual.EntityId, actual.Reason, actual.RequestId, actual.Lsn));
        Assert.Equal(Canon(expected.Before), Canon(actual.Before));
        Assert.Equal(Canon(expected.After), Canon(actual.After));
        Assert.Equal(expected.Changes.Count, actual.Changes.Count);
        for (var i = 0; i < expected.Changes.Count; i++)
        {
            Assert.Equal(expected.Changes[i].Path, actual.Changes[i].Path);
            Assert.Equal(Canon(expected.Changes[i].Before), Canon(actual.Changes[i].Before));
            Assert.Equal(Canon(expected.Changes[i].After), Canon(actual.Changes[i].After));
        }

        Assert.Equal(expected.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Every_field_round_trips()
    {
        var full = Entry() with
        {
            Timestamp = new DateTimeOffset(2025, 6, 7, 8, 9, 10, TimeSpan.FromHours(3)).AddTicks(1234567),
            Before = Json("""{"name":"Zoë ✓ 日本","nested":{"deep":{"x":[1,2.50,{"y":null}]}},"big":12345678901234567890}"""),
            After = Json("""{"name":"Zoë","nested":{"deep":{"x":[]}},"flag":true}"""),
            Changes = Nv.Audit.Diff.JsonDiff.Compute(
                Json("""{"name":"Zoë ✓ 日本","nested":{"deep":{"x":[1]}},"gone":null}"""), Json("""{"name":"Zoë","nested":{"deep":{"x":[]}}}""")),
            Metadata = new Dictionary<string, string> { ["ключ"] = "значение \"quoted\"\n", ["emoji"] = "🦀", ["a/b"] = "" },
            Reason = "naïve \u0001 control",
            Category = AuditCategory.EnvironmentChange,
        };
        var nulls = Entry() with { Before = null, After = null, Changes = [], UserId = null, DtoType = null, Reason = null, Lsn = null, Metadata = new Dictionary<string, string>() };
        var jsonNull = Entry() with { Before = Json("null"), After = Json("{}") };

        Assert.Equal(3, await Sink.AppendAsync([full, nulls, jsonNull], Ct));
        await ReopenAsync();

        foreach (var (original, sequence) in new[] { (full, 1L), (nulls, 2L), (jsonNull, 3L) })
        {
            var stored = await Sink.GetAsync(original.Id, Ct);
            Assert.NotNull(stored);
            AssertSameContent(original, stored);
            Assert.Equal(sequence, stored.Sequence);
            Assert.Equal(AuditHash.Compute(stored), stored.Hash);
        }

        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await Sink.GetAsync(jsonNull.Id, Ct))!.Before!.Value.ValueKind);
        Assert.Null(await Sink.GetAsync(Guid.NewGuid(), Ct));
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task Chain_links_each_entry_to_the_previous()
    {
        var entries = Entries(5);
        await Sink.AppendAsync(entries, Ct);
        var stored = new List<AuditEntry>();
        foreach (var e in entries)
        {
            stored.Add((await Sink.GetAsync(e.Id, Ct))!);
        }

        Assert.Equal([1L, 2, 3, 4, 5], stored.Select(e => e.Sequence));
        Assert.Equal(AuditHash.Genesis, stored[0].PrevHash);
        for (var i = 1; i < stored.Count; i++)
        {
            Assert.Equal(stored[i - 1].Hash, stored[i].PrevHash);
        }
    }

    [Fact]
    public async Task Appending_the_same_ids_twice_inserts_once()
    {
        var entries = Entries(10);
        Assert.Equal(10, await Sink.AppendAsync(entries, Ct));
        Assert.Equal(0, await Sink.AppendAsync(entries, Ct));
        var more = Entries(3);
        Assert.Equal(3, await Sink.AppendAsync([entries[2], more[0], more[0], entries[9], more[1], more[2]], Ct));
        await ReopenAsync();
        Assert.Equal(0, await Sink.AppendAsync(entries, Ct));
        var verification = await Sink.VerifyAsync(Ct);
        Assert.True(verification.IsValid, verification.Reason);
        Assert.Equal(13, verification.EntriesChecked);
        Assert.Equal(13, (await Sink.GetAsync(more[2].Id, Ct))!.Sequence);
    }

    [Fact]
    public async Task Contains_reports_stored_ids()
    {
        var entries = Entries(3);
        await Sink.AppendAsync(entries, Ct);
        var missing = Guid.NewGuid();
        var found = await Sink.ContainsAsync([entries[0].Id, missing, entries[2].Id], Ct);
        Assert.Equal(new HashSet<Guid> { entries[0].Id, entries[2].Id }, found.ToHashSet());
        var many = Enumerable.Range(0, 1200).Select(_ => Guid.NewGuid()).Append(entries[1].Id).ToList();
        Assert.Single(await Sink.ContainsAsync(many, Ct));
    }

    [Fact]
    public async Task Chains_of_different_services_are_independent()
    {
        var interleaved = new List<AuditEntry>();
        for (var i = 0; i < 6; i++)
        {
            interleaved.Add(Entry(i % 2 == 0 ? "orders" : "billing"));
        }

        interleaved.Add(Entry("inventory"));
        await Sink.AppendAsync(interleaved, Ct);
        await Sink.AppendAsync([Entry("billing")], Ct);
        var billing = await Sink.QueryAsync(new AuditQuery { Service = "billing", Ascending = true }, Ct);
        Assert.Equal([1L, 2, 3, 4], billing.Entries.Select(e => e.Sequence));
        Assert.Equal(AuditHash.Genesis, billing.Entries[0].PrevHash);
        var inventory = await Sink.QueryAsync(new AuditQuery { Service = "inventory" }, Ct);
        Assert.Equal(1, Assert.Single(inventory.Entries).Sequence);
        var verification = await Sink.VerifyAsync(Ct);
        Assert.True(verification.IsValid, verification.Reason);
        Assert.Equal(8, verification.EntriesChecked);
    }

    [Fact]
    public async Task Update_and_delete_through_a_raw_connection_fail()
    {
        await Sink.AppendAsync(Entries(2), Ct);
        using var raw = Raw();
        var update = Assert.Throws<SqliteException>(() => Execute(raw, "UPDATE audit_entries SET reason = 'x'"));
        Assert.Contains("audit entries are immutable", update.Message, StringComparison.Ordinal);
        var delete = Assert.Throws<SqliteException>(() => Execute(raw, "DELETE FROM audit_entries"));
        Assert.Contains("audit entries are immutable", delete.Message, StringComparison.Ordinal);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task Store_uses_wal_journal_and_survives_reopen()
    {
        await Sink.AppendAsync(Entries(3), Ct);
        using (var raw = Raw())
        using (var command = raw.CreateCommand())
        {
            command.CommandText = "PRAGMA journal_mode;";
            Assert.Equal("wal", command.ExecuteScalar());
        }

        await ReopenAsync();
        await Sink.AppendAsync(Entries(2), Ct);
        var verification = await Sink.VerifyAsync(Ct);
        Assert.True(verification.IsValid, verification.Reason);
        Assert.Equal(5, verification.EntriesChecked);
    }

    [Fact]
    public async Task Invalid_entry_is_rejected_before_anything_is_written()
    {
        var bad = Entry() with { RequestId = "" };
        await Assert.ThrowsAsync<ArgumentException>(() => Sink.AppendAsync([Entry(), bad], Ct));
        Assert.Empty((await Sink.QueryAsync(new AuditQuery(), Ct)).Entries);
    }

    [Fact]
    public async Task Failed_append_propagates_and_the_chain_recovers()
    {
        await Sink.AppendAsync(Entries(2), Ct);
        using (var raw = Raw())
        {
            Execute(raw, "CREATE TRIGGER injected_failure BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'injected'); END;");
        }

        await Assert.ThrowsAsync<SqliteException>(() => Sink.AppendAsync(Entries(1), Ct));
        using (var raw = Raw())
        {
            Execute(raw, "DROP TRIGGER injected_failure;");
        }

        var next = Entries(1);
        Assert.Equal(1, await Sink.AppendAsync(next, Ct));
        Assert.Equal(3, (await Sink.GetAsync(next[0].Id, Ct))!.Sequence);
        Assert.True((await Sink.VerifyAsync(Ct)).IsValid);
    }

    [Fact]
    public async Task Another_writers_appends_are_picked_up_before_the_next_append()
    {
        await Sink.AppendAsync(Entries(2), Ct);
        // Another writer (nv audit archive next to a live host, say) appends behind the sink's back, so the cached head is
        // stale; the sink notices (PRAGMA data_version) and reloads it, instead of hitting UNIQUE (service, sequence).
        using (var raw = Raw())
        {
            Execute(raw, "INSERT INTO audit_entries (" + "id, timestamp, service, category, operation, entity_id, changes_json, metadata_json, " +
                "request_id, sequence, prev_hash, hash) VALUES ('00000000-0000-0000-0000-000000000001', '2025-01-01T00:00:00.0000000Z', " +
                "'orders', 'entity-mutation', 'create', 'x', '[]', '{}', 'r', 3, '" + new string('0', 64) + "', '" + new string('0', 64) + "')");
            // The other writer is another instance of this store: it also adds the entry's Merkle leaf.
            Execute(raw, "INSERT INTO audit_merkle_leaves (chain, idx, hash) VALUES ('orders', 2, zeroblob(32))");
        }

        var next = Entries(1);
        Assert.Equal(1, await Sink.AppendAsync(next, Ct));
        Assert.Equal(4, (await Sink.GetAsync(next[0].Id, Ct))!.Sequence);
    }

    [Fact]
    public async Task Damaged_chain_head_refuses_appends()
    {
        await Sink.AppendAsync(Entries(1), Ct);
        using (var raw = Raw())
        {
            Execute(raw, "DROP TRIGGER audit_entries_no_update; UPDATE audit_entries SET hash = 'h'");
        }

        await ReopenAsync();
        var ex = await Assert.ThrowsAsync<AuditChainBrokenException>(() => Sink.AppendAsync(Entries(1), Ct));
        Assert.Equal(("orders", 1L, false), (ex.Chain, ex.Sequence, ex.IsTransient));
    }

    [Fact]
    public async Task Entry_from_a_wal_record_backfilled_later_is_stored_once()
    {
        var record = new WalRecord
        {
            Id = Guid.CreateVersion7(), Lsn = new Lsn(5), Service = "orders", Version = 1, Timestamp = DateTimeOffset.UtcNow,
            Operation = WalOperation.Create, DtoType = "Order", EntityId = "o-9", Payload = Json("""{"a":1}"""),
            ReplayKey = "dev:orders:1:Order:o-9", RequestId = "req-77",
        };
        Assert.Equal(1, await Sink.AppendAsync([AuditEntryFactory.FromWalRecord(record, null)], Ct));
        Assert.Equal(0, await Sink.AppendAsync([AuditEntryFactory.FromWalRecord(record, null)], Ct));
        var stored = await Sink.GetAsync(record.Id, Ct);
        Assert.Equal("/a", Assert.Single(stored!.Changes).Path);
    }
}
