using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Chain;

namespace Nv.Integration.Tests.Audit;

/// <summary>Tampers with a real audit file behind the sink's back (triggers dropped) and checks verification finds it.</summary>
public sealed class SqliteAuditTamperTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private List<AuditEntry> _entries = [];

    private async Task<SqliteConnection> TamperableTrailAsync(int count = 5)
    {
        _entries = Entries(count);
        await Sink.AppendAsync(_entries, Ct);
        await Sink.AppendAsync(Entries(3, "billing"), Ct);
        var raw = Raw();
        Execute(raw, "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;");
        return raw;
    }

    private async Task<AuditVerification> AssertBrokenAsync(long sequence, string reasonPart)
    {
        var result = await Sink.VerifyAsync(Ct);
        Assert.False(result.IsValid);
        Assert.Equal("orders", result.BrokenChain);
        Assert.Equal(sequence, result.BrokenSequence);
        Assert.Contains(reasonPart, result.Reason, StringComparison.Ordinal);
        return result;
    }

    private static void Reinsert(SqliteConnection raw, long sequence, string service = "orders")
    {
        Execute(raw, $"CREATE TEMP TABLE IF NOT EXISTS moved AS SELECT * FROM audit_entries WHERE 0");
        Execute(raw, $"INSERT INTO moved SELECT * FROM audit_entries WHERE service = '{service}' AND sequence = {sequence}");
        Execute(raw, $"DELETE FROM audit_entries WHERE service = '{service}' AND sequence = {sequence}");
        Execute(raw, $"INSERT INTO audit_entries ({SqliteColumns}) SELECT {SqliteColumns} FROM moved WHERE sequence = {sequence}");
    }

    private const string SqliteColumns = Nv.Audit.Sqlite.SqliteAuditSchema.Columns;

    [Fact]
    public async Task Untouched_trail_verifies()
    {
        using var raw = await TamperableTrailAsync();
        var result = await Sink.VerifyAsync(Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(8, result.EntriesChecked);
        Assert.Null(result.BrokenChain);
    }

    [Theory]
    [InlineData("reason = 'forged'")]
    [InlineData("user_id = 'mallory'")]
    [InlineData("after_json = '{\"n\":3,\"status\":\"paid\"}'")]
    [InlineData("timestamp = '2024-01-01T00:00:00.0000000Z'")]
    [InlineData("lsn = NULL")]
    [InlineData("metadata_json = '{}'")]
    [InlineData("category = 'permission'")]
    public async Task Edited_field_is_reported_at_its_sequence(string assignment)
    {
        using var raw = await TamperableTrailAsync();
        Assert.Equal(1, Execute(raw, $"UPDATE audit_entries SET {assignment} WHERE service = 'orders' AND sequence = 3"));
        await AssertBrokenAsync(3, "edited");
    }

    [Fact]
    public async Task Edited_entry_with_recomputed_hash_breaks_the_next_link()
    {
        using var raw = await TamperableTrailAsync();
        var victim = (await Sink.GetAsync(_entries[2].Id, Ct))! with { Reason = "forged" };
        var rehashed = AuditHash.Compute(victim);
        Execute(raw, $"UPDATE audit_entries SET reason = 'forged', hash = '{rehashed}' WHERE service = 'orders' AND sequence = 3");
        await AssertBrokenAsync(4, "prevHash");
    }

    [Fact]
    public async Task Deleted_middle_entry_is_a_gap()
    {
        using var raw = await TamperableTrailAsync();
        Execute(raw, "DELETE FROM audit_entries WHERE service = 'orders' AND sequence = 3");
        await AssertBrokenAsync(4, "deleted");
    }

    [Fact]
    public async Task Deleted_first_entry_is_a_gap()
    {
        using var raw = await TamperableTrailAsync();
        Execute(raw, "DELETE FROM audit_entries WHERE service = 'orders' AND sequence = 1");
        await AssertBrokenAsync(2, "gap");
    }

    [Fact]
    public async Task Swapped_sequences_are_reported()
    {
        using var raw = await TamperableTrailAsync();
        Execute(raw, "UPDATE audit_entries SET sequence = 1000 WHERE service = 'orders' AND sequence = 2");
        Execute(raw, "UPDATE audit_entries SET sequence = 2 WHERE service = 'orders' AND sequence = 3");
        Execute(raw, "UPDATE audit_entries SET sequence = 3 WHERE service = 'orders' AND sequence = 1000");
        await AssertBrokenAsync(2, "reordered");
    }

    [Fact]
    public async Task Rows_physically_reordered_are_reported()
    {
        using var raw = await TamperableTrailAsync();
        // Move entry 3, then entry 2, to the end of the table: every row is byte-identical, only the storage order changed.
        Reinsert(raw, 3);
        Reinsert(raw, 2);
        await AssertBrokenAsync(3, "reordered");
    }

    [Fact]
    public async Task Forged_entry_inserted_in_the_middle_is_reported()
    {
        using var raw = await TamperableTrailAsync();
        for (var seq = 5; seq >= 3; seq--)
        {
            Execute(raw, $"UPDATE audit_entries SET sequence = {seq + 1} WHERE service = 'orders' AND sequence = {seq}");
        }

        // The forger links the entry correctly and computes its hash; the entry after it no longer links.
        var previous = (await Sink.GetAsync(_entries[1].Id, Ct))!;
        var forged = Entry(entityId: "forged") with { Sequence = 3, PrevHash = previous.Hash };
        forged = forged with { Hash = AuditHash.Compute(forged) };
        await using (var sink = AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = Directory, SqliteFileName = "forge.db" }))
        {
            await sink.AppendAsync([forged], Ct);
        }

        Execute(raw, $"ATTACH DATABASE '{Path.Combine(Directory, "forge.db")}' AS forge");
        Execute(raw, $"INSERT INTO audit_entries ({SqliteColumns}) SELECT id, timestamp, service, category, operation, user_id, dto_type, " +
            $"entity_id, before_json, after_json, changes_json, reason, metadata_json, request_id, lsn, 3, '{forged.PrevHash}', " +
            $"'{forged.Hash}', wal_record_hash, encoding, key_id, sealed FROM forge.audit_entries");
        var result = await Sink.VerifyAsync(Ct);
        Assert.False(result.IsValid);
        Assert.Equal("orders", result.BrokenChain);
        // The forged entry itself links and hashes correctly; the displaced entry 4 is where the chain breaks
        // (stored before its predecessor, and its prevHash no longer matches).
        Assert.Equal(4, result.BrokenSequence);
    }

    [Fact]
    public async Task Forged_entry_appended_with_a_wrong_hash_is_reported()
    {
        using var raw = await TamperableTrailAsync();
        var last = (await Sink.GetAsync(_entries[^1].Id, Ct))!;
        Execute(raw, $"INSERT INTO audit_entries ({SqliteColumns}) SELECT '00000000-0000-0000-0000-0000000000ff', timestamp, service, category, " +
            $"operation, user_id, dto_type, entity_id, before_json, after_json, changes_json, 'forged', metadata_json, request_id, lsn, 6, " +
            $"'{last.Hash}', hash, wal_record_hash, encoding, key_id, sealed FROM audit_entries WHERE service = 'orders' AND sequence = 5");
        await AssertBrokenAsync(6, "edited");
    }

    [Fact]
    public async Task Unparseable_row_is_reported_as_edited()
    {
        using var raw = await TamperableTrailAsync();
        Execute(raw, "UPDATE audit_entries SET changes_json = 'not json' WHERE service = 'orders' AND sequence = 2");
        await AssertBrokenAsync(2, "edited");
    }
}
