using Microsoft.Data.Sqlite;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    // Rows deleted per purge transaction: the writer lock is released between chunks, so a large backlog of expired
    // outcomes (after a long stop) never holds up the apply stage for long.
    private const int PurgeChunk = 10_000;

    // On a pooled read-only connection, like the other reads: it sees the last committed batch and never waits for one.
    public Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var found = new Dictionary<RequestKey, RequestOutcome>();
        if (keys.Count == 0)
        {
            return Task.FromResult<IReadOnlyDictionary<RequestKey, RequestOutcome>>(found);
        }

        ThrowIfStopped();
        var wanted = new HashSet<RequestKey>(keys);
        var legacy = new Dictionary<string, RequestOutcome>(StringComparer.Ordinal);
        try
        {
            var ids = wanted.Select(static k => k.RequestId).Distinct(StringComparer.Ordinal).ToList();
            if (_requestIds is { IsReady: true } filter)
            {
                ids.RemoveAll(id => !filter.MightHave(id)); // never stored: nothing to read
                if (ids.Count == 0)
                {
                    return Task.FromResult<IReadOnlyDictionary<RequestKey, RequestOutcome>>(found);
                }
            }

            if (Probe(ref _requestProbe, "SELECT 1 FROM _nv_requests WHERE request_id = ?1 LIMIT 1")?.TryProbe(ids) is { } present)
            {
                ids.RemoveAll(id => !present.Contains(id)); // new ids (nearly always all of them) are not read in full
                if (ids.Count == 0)
                {
                    return Task.FromResult<IReadOnlyDictionary<RequestKey, RequestOutcome>>(found);
                }
            }

            using var connection = OpenReader();
            foreach (var chunk in ids.Chunk(MaxIdsPerQuery))
            {
                using var command = connection.CreateCommand();
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                command.CommandText = SqliteRequests.SelectSql($"request_id IN ({string.Join(',', names)}) ORDER BY lsn");
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var outcome = SqliteRequests.ReadRow(reader);
                    if (outcome.Scope is null)
                    {
                        legacy.TryAdd(outcome.RequestId, outcome); // lowest LSN first: the request's first record
                    }
                    else if (wanted.Contains(new RequestKey(outcome.Scope, outcome.RequestId)))
                    {
                        found.TryAdd(new RequestKey(outcome.Scope, outcome.RequestId), outcome);
                    }
                }
            }
        }
        catch (SqliteException ex)
        {
            throw SqliteErrors.Wrap(ex, "read of request outcomes");
        }

        foreach (var key in wanted)
        {
            if (!found.ContainsKey(key) && legacy.TryGetValue(key.RequestId, out var unscoped))
            {
                found[key] = unscoped;
            }
        }

        return Task.FromResult<IReadOnlyDictionary<RequestKey, RequestOutcome>>(found);
    }

    /// <remarks>False once the filter's first build finished and it has never seen the request id.</remarks>
    public bool MightHoldRequest(RequestKey key) => _requestIds is not { IsReady: true } filter || filter.MightHave(key.RequestId);

    /// <summary>The request-id filter, once the store is open (tests).</summary>
    internal SqliteRequestIdFilter? RequestIdFilter => _requestIds;

    public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default)
    {
        var cutoff = createdBefore.ToUnixTimeMilliseconds();
        long total = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int deleted;
            lock (_gate)
            {
                ThrowIfStopped();
                var connection = EnsureOpen();
                try
                {
                    using var command = connection.CreateCommand();
                    command.CommandText = SqliteRequests.PurgeSql;
                    command.Parameters.AddWithValue("$cutoff", cutoff);
                    command.Parameters.AddWithValue("$limit", PurgeChunk);
                    deleted = command.ExecuteNonQuery(); // autocommit: one transaction per chunk
                }
                catch (SqliteException ex)
                {
                    throw Stop(SqliteErrors.Wrap(ex, "purge of request outcomes"));
                }
            }

            total += deleted;
            if (deleted < PurgeChunk)
            {
                break;
            }
        }

        if (total > 0)
        {
            _logger.RequestsPurged(total, createdBefore);
        }

        return Task.FromResult(total);
    }
}
