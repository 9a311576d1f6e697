using System.Text.Json;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Smoke.Tests.Support;

/// <summary>After the host has exited, opens the real WAL, SQLite store and audit trail and checks them against an
/// oracle built by folding the WAL's records once, in LSN order, with the writer's documented rules.</summary>
internal static class StoreInspector
{
    /// <param name="masterKeyFile">With encryption at rest: the master key, so the WAL's sealed payloads are read with the
    /// data keys the store holds.</param>
    public static async Task VerifyAsync(string dataDir, IReadOnlyList<Ack> acks, string context, CancellationToken ct, string? masterKeyFile = null)
    {
        var records = new List<WalRecord>();
        await using var keyStore = masterKeyFile is null ? null : DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = dataDir });
        using var ring = masterKeyFile is null ? null : new Nv.Host.Protection.KeyRing(
            new Nv.Host.Protection.EncryptionOptions { MasterKeyFile = masterKeyFile }, (IDataKeyStore)keyStore!, null, null);
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(dataDir, "wal") }, null, ring))
        {
            await foreach (var record in wal.ReadAsync(new Lsn(1), ct))
            {
                records.Add(record);
            }
        }

        for (var i = 0; i < records.Count; i++)
        {
            Assert.True(records[i].Lsn.Value == i + 1, $"{context}: WAL LSNs are not dense at index {i}: {records[i].Lsn}");
        }

        var oracle = Oracle.Fold(records);
        await using var db = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = dataDir });
        await db.InitializeAsync(ct);

        // (1) Every acknowledged write is in the WAL under its LSN and has the acknowledged outcome in the database.
        foreach (var ack in acks)
        {
            Assert.True(ack.Lsn >= 1 && ack.Lsn <= records.Count, $"{context}: acknowledged lsn {ack.Lsn} ({ack.RequestId}) is missing from the WAL (holds {records.Count})");
            var record = records[(int)ack.Lsn - 1];
            Assert.True(record.RequestId == ack.RequestId, $"{context}: lsn {ack.Lsn} holds {record.RequestId}, acknowledged as {ack.RequestId}");
            Assert.True(oracle.Statuses[ack.Lsn].ToString() == ack.Status, $"{context}: lsn {ack.Lsn} acknowledged {ack.Status}, oracle says {oracle.Statuses[ack.Lsn]}");
        }

        // (2) The database equals the oracle: every record resolved as the oracle says, every entity in the oracle's state.
        var resolutions = new List<RecordResolution>();
        var after = Lsn.None;
        while (true)
        {
            var page = await db.GetResolutionsAsync(after, 1000, ct);
            if (page.Count == 0 && after.Value >= records.Count)
            {
                break;
            }

            if (page.Count == 0)
            {
                Assert.Fail($"{context}: no resolution after lsn {after} although the WAL holds {records.Count} records");
            }

            resolutions.AddRange(page);
            after = page[^1].Lsn;
        }

        Assert.Equal(records.Count, resolutions.Count);
        foreach (var resolution in resolutions)
        {
            var expected = oracle.Statuses[resolution.Lsn.Value];
            Assert.True(expected == resolution.Status, $"{context}: lsn {resolution.Lsn} resolved {resolution.Status}, oracle says {expected}");
        }

        foreach (var ((dtoType, entityId), state) in oracle.Entities)
        {
            var stored = await db.GetAsync(dtoType, entityId, ct);
            if (!state.Live)
            {
                Assert.True(stored is null, $"{context}: {dtoType}/{entityId} should be absent (deleted at lsn {state.Lsn}) but is stored at lsn {stored?.Lsn}");
                continue;
            }

            Assert.True(stored is not null, $"{context}: {dtoType}/{entityId} missing, oracle has it at lsn {state.Lsn}");
            Assert.Equal(state.Lsn, stored.Lsn);
            Assert.True(JsonElement.DeepEquals(state.Document, stored.Document), $"{context}: {dtoType}/{entityId} document differs from the oracle");
        }

        // (3) Exactly one audit entry per applied record, none for anything else, and the chain verifies.
        await using var audit = AuditSinks.OpenSqlite(new AuditOptions { DataDirectory = dataDir });
        var auditIds = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await audit.QueryAsync(new AuditQuery { Category = AuditCategory.EntityMutation, Limit = 1000, Cursor = cursor, Ascending = true }, ct);
            auditIds.AddRange(page.Entries.Select(e => e.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.True(auditIds.Count == auditIds.Distinct().Count(), $"{context}: duplicate audit entries");
        var appliedIds = records.Where(r => oracle.Statuses[r.Lsn.Value] == ApplyStatus.Applied).Select(r => r.Id).ToHashSet();
        var missing = appliedIds.Except(auditIds).ToList();
        var extra = auditIds.Except(appliedIds).ToList();
        Assert.True(missing.Count == 0, $"{context}: {missing.Count} applied records have no audit entry");
        Assert.True(extra.Count == 0, $"{context}: {extra.Count} audit entries belong to no applied record");
        var verification = await audit.VerifyAsync(ct);
        Assert.True(verification.IsValid, $"{context}: audit chain broken at {verification.BrokenChain}#{verification.BrokenSequence}: {verification.Reason}");
    }
}
