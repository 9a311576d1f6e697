using System.Globalization;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Verify;

/// <summary>Checks a data directory after a restart against the requests the test sent, with rules, JSON handling and
/// hashing of its own (nothing from Nv): every acknowledged write is there with its acknowledged outcome; the records the
/// stores hold, folded in LSN order with the documented rules, give exactly the stored outcomes, the stored entities and
/// one audit entry per applied record, whose content (operation, before, after, changes, user, reason, metadata, LSN,
/// WAL-record hash) is what the request determines.</summary>
/// <remarks>The record set comes from the stores: stored outcomes (<c>_nv_resolutions</c>, purged with WAL truncation)
/// and audit entries (never purged). A rejected record whose outcome was purged is invisible, which changes no state.
/// A PATCH without <c>If-Match</c> is guarded by the version the server read, which the client cannot know: its outcome
/// is taken from the stores, and its content checked when applied.</remarks>
internal sealed partial class IndependentOracle(string environment, string service)
{
    private const int Applied = 1;
    private const int Rejected = 3;
    private const int AlreadyExists = 1;
    private const int NotFound = 2;
    private const int PreconditionFailed = 3;

    /// <summary>Every problem found (empty: the directory is consistent with the log).</summary>
    /// <param name="store">The stores, read after the restart.</param>
    /// <param name="log">Every write sent.</param>
    /// <param name="acknowledged">The acknowledged writes to hold the directory to (all, or those before a cut point).</param>
    /// <param name="walFirstLsn">The first LSN the WAL still holds (outcomes below it may have been purged).</param>
    /// <param name="walLastLsn">The last LSN the WAL holds: every record up to it must have a stored outcome.</param>
    public List<string> Check(StoreSnapshot store, WriteLog log, IReadOnlyDictionary<string, WriteReply> acknowledged, long walFirstLsn, long walLastLsn)
    {
        var problems = new List<string>();
        var mutations = store.Audit.Where(a => a.Category == "entity-mutation" && a.Service == service).ToList();
        var records = Records(store, mutations, log, problems);
        if (store.ResolvedThrough < walLastLsn)
        {
            problems.Add($"the database resolved through LSN {store.ResolvedThrough} but the WAL holds records up to {walLastLsn}");
        }

        for (var lsn = Math.Max(1, walFirstLsn); lsn <= walLastLsn; lsn++)
        {
            if (!store.Resolutions.ContainsKey(lsn))
            {
                problems.Add($"WAL record {lsn} has no stored outcome");
                break;
            }
        }

        var decided = Fold(records, store, mutations, log, problems);
        CheckAcknowledged(acknowledged, records, decided, walFirstLsn, problems);
        return problems;
    }

    private sealed record Known(long Lsn, string RequestId, SentWrite Write, (string RequestId, int Status, int RejectReason)? Resolution, AuditRow? Entry);

    // The records the stores know, by LSN: each names a request the test sent, no request twice, and outcome and entry agree.
    private static SortedDictionary<long, Known> Records(StoreSnapshot store, List<AuditRow> mutations, WriteLog log, List<string> problems)
    {
        var records = new SortedDictionary<long, Known>();
        var byRequest = new Dictionary<string, long>(StringComparer.Ordinal);
        var entries = new Dictionary<long, AuditRow>();
        foreach (var entry in mutations)
        {
            if (entry.Lsn is not { } lsn)
            {
                problems.Add($"audit entry {entry.Id} ({entry.RequestId}) has no LSN");
            }
            else if (!entries.TryAdd(lsn, entry))
            {
                problems.Add($"two audit entries for LSN {lsn} ({entries[lsn].Id}, {entry.Id})");
            }
        }

        foreach (var lsn in store.Resolutions.Keys.Union(entries.Keys).Order())
        {
            store.Resolutions.TryGetValue(lsn, out var resolution);
            var hasResolution = store.Resolutions.ContainsKey(lsn);
            entries.TryGetValue(lsn, out var entry);
            var requestId = hasResolution ? resolution.RequestId : entry!.RequestId;
            if (entry is not null && entry.RequestId != requestId)
            {
                problems.Add($"LSN {lsn}: stored outcome names {requestId}, audit entry names {entry.RequestId}");
            }

            if (!log.Sent.TryGetValue(requestId, out var write))
            {
                problems.Add($"LSN {lsn} belongs to {requestId}, a request the test never sent");
                continue;
            }

            if (!byRequest.TryAdd(requestId, lsn))
            {
                problems.Add($"request {requestId} was written twice, at LSN {byRequest[requestId]} and {lsn}");
                continue;
            }

            records[lsn] = new Known(lsn, requestId, write, hasResolution ? resolution : null, entry);
        }

        return records;
    }

    private static void CheckAcknowledged(IReadOnlyDictionary<string, WriteReply> acknowledged, SortedDictionary<long, Known> records,
        Dictionary<long, bool> applied, long walFirstLsn, List<string> problems)
    {
        foreach (var (requestId, reply) in acknowledged.OrderBy(a => a.Value.Lsn))
        {
            var lsn = reply.Lsn!.Value;
            if (!records.TryGetValue(lsn, out var record))
            {
                // Rejected records below the WAL's first LSN may have had their outcome purged; an applied one never vanishes.
                if (!(reply.Outcome != "applied" && lsn < walFirstLsn))
                {
                    problems.Add($"LOST: {requestId} was acknowledged ({reply.Status}, {reply.Outcome}) at LSN {lsn}, which the stores do not hold");
                }

                continue;
            }

            if (record.RequestId != requestId)
            {
                problems.Add($"LOST: {requestId} was acknowledged at LSN {lsn}, which holds {record.RequestId}");
                continue;
            }

            var wasApplied = applied.TryGetValue(lsn, out var a) && a;
            if ((reply.Outcome == "applied" && !wasApplied) || (reply.Outcome == "rejected" && wasApplied))
            {
                problems.Add($"{requestId} at LSN {lsn} was acknowledged {reply.Outcome} ({reply.Status}) but is stored {(wasApplied ? "applied" : "rejected")}");
            }
        }
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
