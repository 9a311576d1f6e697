using System.Globalization;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The fold: the records in LSN order under the documented rules, against the stored outcomes, audit entries and
/// entity rows.</summary>
internal sealed partial class IndependentOracle
{
    // The rules as README.md states them, written here without looking at Nv's code: a stale expected version is
    // precondition-failed, a create of a live entity already-exists, an update or delete of a missing (or deleted) one
    // not-found; anything else applies.
    internal static (bool Applied, int Reason) Decide(string operation, long? expected, bool live, long currentLsn)
    {
        if (expected is { } version && (!live || currentLsn != version))
        {
            return (false, PreconditionFailed);
        }

        if (operation == "create")
        {
            return live ? (false, AlreadyExists) : (true, 0);
        }

        return live ? (true, 0) : (false, NotFound);
    }

    private Dictionary<long, bool> Fold(SortedDictionary<long, Known> records, StoreSnapshot store, List<AuditRow> mutations, WriteLog log,
        List<string> problems)
    {
        var state = new Dictionary<(string, string), (JNode? Document, long Lsn)>();
        var applied = new Dictionary<long, bool>();
        foreach (var record in records.Values)
        {
            var write = record.Write;
            var key = (write.DtoType, write.EntityId);
            state.TryGetValue(key, out var current);
            var live = current.Document is not null;
            bool isApplied;
            int reason;
            if (write.IsPatch && write.IfMatch is null)
            {
                // Guarded by the version the server read: the outcome is the store's; when applied it read the current one.
                isApplied = record.Entry is not null || record.Resolution?.Status == Applied;
                reason = isApplied ? 0 : PreconditionFailed;
                if (isApplied && !live)
                {
                    problems.Add(Inv($"LSN {record.Lsn} ({record.RequestId}): a patch applied to {key} although it did not exist"));
                }
            }
            else
            {
                (isApplied, reason) = Decide(write.Operation, write.IfMatch, live, current.Lsn);
            }

            applied[record.Lsn] = isApplied;
            if (record.Resolution is { } resolution
                && (resolution.Status != (isApplied ? Applied : Rejected) || (!isApplied && resolution.RejectReason != reason)))
            {
                problems.Add(Inv($"LSN {record.Lsn} ({record.RequestId}, {write.Method} {key}): stored as status {resolution.Status} reason {resolution.RejectReason}, the rules say {(isApplied ? "applied" : "rejected")} {reason}"));
            }

            if (!isApplied)
            {
                if (record.Entry is not null)
                {
                    problems.Add(Inv($"LSN {record.Lsn} ({record.RequestId}) was rejected but has audit entry {record.Entry.Id}"));
                }

                continue;
            }

            var expectedVersion = write.IsPatch ? current.Lsn : write.IfMatch;
            var after = write.Operation switch
            {
                "delete" => null,
                _ when write.IsPatch => JNode.MergePatch(current.Document, JNode.Parse(write.Body!)),
                _ => JNode.Parse(write.Body!),
            };
            if (record.Entry is null)
            {
                problems.Add(Inv($"LSN {record.Lsn} ({record.RequestId}) was applied but has no audit entry"));
            }
            else
            {
                CheckEntry(record, current.Document, after, expectedVersion, problems);
            }

            state[key] = (after, record.Lsn);
        }

        CheckEntities(state, store, problems);
        return applied;
    }

    private void CheckEntry(Known record, JNode? before, JNode? after, long? expectedLsn, List<string> problems)
    {
        var entry = record.Entry!;
        var write = record.Write;
        var metadata = JNode.Object(write.Metadata.Select(m => KeyValuePair.Create(m.Key.ToLowerInvariant(), JNode.String(m.Value)))).Canonical();
        // The audit entry's metadata is the write's plus the DTO version it was written under (nv.dtoVersion; the
        // workloads send no X-Dto-Version header, so 1); the WAL record's hash covers the write's own metadata.
        var auditMetadata = JNode.Object(write.Metadata
            .Select(m => KeyValuePair.Create(m.Key.ToLowerInvariant(), JNode.String(m.Value)))
            .Append(KeyValuePair.Create("nv.dtoVersion", JNode.String("1")))).Canonical();
        var payload = write.Operation == "delete" ? "{}" : after!.Canonical();
        var hash = WalRecordHash.Compute(
        [
            entry.Id, record.Lsn.ToString(CultureInfo.InvariantCulture), service, "1", entry.Timestamp, write.Operation, write.DtoType,
            write.EntityId, payload, Inv($"{environment}:{service}:1:{write.DtoType}:{write.EntityId}"), write.RequestId, write.UserId,
            write.Reason, metadata, expectedLsn?.ToString(CultureInfo.InvariantCulture),
        ]);
        var expected = new (string Field, string? Want, string? Have)[]
        {
            ("operation", write.Operation, entry.Operation),
            ("dtoType", write.DtoType, entry.DtoType),
            ("entityId", write.EntityId, entry.EntityId),
            ("before", before?.Canonical(), entry.Before),
            ("after", after?.Canonical(), entry.After),
            ("changes", FieldChanges.CanonicalJson(before, after), entry.Changes),
            ("userId", write.UserId, entry.UserId),
            ("reason", write.Reason, entry.Reason),
            ("metadata", auditMetadata, entry.Metadata),
            ("walRecordHash", hash, entry.WalRecordHash),
        };
        foreach (var (field, want, have) in expected.Where(e => e.Want != e.Have))
        {
            problems.Add(Inv($"audit entry of LSN {record.Lsn} ({record.RequestId}): {field} is {have ?? "absent"}, expected {want ?? "absent"}"));
        }
    }

    private static void CheckEntities(Dictionary<(string, string), (JNode? Document, long Lsn)> state, StoreSnapshot store, List<string> problems)
    {
        foreach (var (key, (document, lsn)) in state)
        {
            store.Entities.TryGetValue(key, out var row);
            var stored = store.Entities.ContainsKey(key);
            if (document is null)
            {
                if (stored && !row.Deleted)
                {
                    problems.Add(Inv($"{key} should be deleted (LSN {lsn}) but is stored live at LSN {row.Lsn}"));
                }

                continue;
            }

            if (!stored || row.Deleted || row.Document is null)
            {
                problems.Add(Inv($"{key} is missing; the fold has it at LSN {lsn}"));
            }
            else if (row.Lsn != lsn || JNode.Parse(row.Document).Canonical() != document.Canonical())
            {
                problems.Add(Inv($"{key} is stored at LSN {row.Lsn} as {row.Document}; the fold has LSN {lsn}: {document.Canonical()}"));
            }
        }

        foreach (var (key, row) in store.Entities.Where(e => !e.Value.Deleted && !state.ContainsKey(e.Key)))
        {
            problems.Add(Inv($"{key} is stored live at LSN {row.Lsn} but no applied record wrote it"));
        }
    }
}
