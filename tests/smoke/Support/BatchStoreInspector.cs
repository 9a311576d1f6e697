using System.Text.Json;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Smoke.Tests.Support;

/// <summary>After the host has exited, checks a data directory written with batches against <see cref="BatchOracle"/>:
/// acknowledged batches survive with their outcome, the database equals the oracle (so no half batch is visible, and no
/// entity carries the LSN of a rejected batch), every applied entity change has exactly one audit entry and the chain
/// verifies.</summary>
internal static class BatchStoreInspector
{
    public static async Task VerifyAsync(string dataDir, IReadOnlyList<Ack> acks, string context, CancellationToken ct)
    {
        var records = new List<WalRecord>();
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(dataDir, "wal") }))
        {
            await foreach (var record in wal.ReadAsync(new Lsn(1), ct))
            {
                records.Add(record);
            }
        }

        Assert.True(records.Select((r, i) => r.Lsn.Value == i + 1).All(b => b), $"{context}: WAL LSNs are not dense");
        Assert.True(records.Any(r => r.Operation == WalOperation.Batch), $"{context}: no batch record in the WAL");
        var oracle = BatchOracle.Fold(records);

        foreach (var ack in acks)
        {
            Assert.True(ack.Lsn >= 1 && ack.Lsn <= records.Count, $"{context}: acknowledged lsn {ack.Lsn} ({ack.RequestId}) is missing from the WAL");
            var record = records[(int)ack.Lsn - 1];
            Assert.True(record.RequestId == ack.RequestId, $"{context}: lsn {ack.Lsn} holds {record.RequestId}, acknowledged as {ack.RequestId}");
            Assert.True(oracle.Statuses[ack.Lsn].ToString() == ack.Status, $"{context}: lsn {ack.Lsn} acknowledged {ack.Status}, oracle says {oracle.Statuses[ack.Lsn]}");
        }

        await using var db = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = dataDir });
        await db.InitializeAsync(ct);
        var resolutions = await db.GetResolutionsAsync(Lsn.None, records.Count + 1, ct);
        Assert.True(resolutions.Count == records.Count, $"{context}: {resolutions.Count} resolutions for {records.Count} WAL records");
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
                Assert.True(stored is null, $"{context}: {dtoType}/{entityId} should be deleted (lsn {state.Lsn}) but is stored at lsn {stored?.Lsn}");
                continue;
            }

            Assert.True(stored is not null, $"{context}: {dtoType}/{entityId} missing, the oracle has it at lsn {state.Lsn}");
            Assert.True(state.Lsn == stored.Lsn && state.WalId == stored.WalId,
                $"{context}: {dtoType}/{entityId} is at lsn {stored.Lsn}, the oracle at {state.Lsn} (half a batch, or a lost write)");
            Assert.True(JsonElement.DeepEquals(state.Document, stored.Document), $"{context}: {dtoType}/{entityId} document differs from the oracle");
        }

        // No entity written by a batch the oracle rejects: every stored entity is one the oracle has, at the oracle's LSN.
        var rejectedBatches = records.Where(r => r.Items is not null && oracle.Statuses[r.Lsn.Value] == ApplyStatus.Rejected).ToList();
        foreach (var batch in rejectedBatches)
        {
            foreach (var item in batch.Items!)
            {
                var stored = await db.GetAsync(item.DtoType, item.EntityId, ct);
                Assert.True(stored?.Lsn != batch.Lsn, $"{context}: {item.DtoType}/{item.EntityId} carries the LSN {batch.Lsn} of a rejected batch");
            }
        }

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
        var missing = oracle.AppliedChangeIds.Except(auditIds).Count();
        var extra = auditIds.Except(oracle.AppliedChangeIds).Count();
        Assert.True(missing == 0 && extra == 0, $"{context}: {missing} applied changes without an audit entry, {extra} entries for no applied change");
        var verification = await audit.VerifyAsync(ct);
        Assert.True(verification.IsValid, $"{context}: audit chain broken at {verification.BrokenChain}#{verification.BrokenSequence}: {verification.Reason}");
    }
}
