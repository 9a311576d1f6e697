using System.Text;
using Microsoft.Data.Sqlite;
using Nv.Audit.Chain;

namespace Nv.Audit.Sqlite;

/// <summary>Reads: lookups, filtered keyset-paged queries.</summary>
internal sealed partial class SqliteAuditSink
{
    /// <summary>Smallest page size.</summary>
    public const int MinLimit = 1;

    /// <summary>Largest page size.</summary>
    public const int MaxLimit = 1000;

    // SQLite's default limit on host parameters is 32766; stay well below it.
    private const int ContainsChunk = 500;

    public async Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var found = new HashSet<Guid>();
        if (ids.Count == 0)
        {
            return found;
        }

        await using var connection = await OpenReaderAsync(cancellationToken);
        foreach (var chunk in ids.Distinct().Chunk(ContainsChunk))
        {
            await using var command = connection.CreateCommand();
            var sql = new StringBuilder("SELECT id FROM audit_entries WHERE id IN (");
            for (var i = 0; i < chunk.Length; i++)
            {
                sql.Append(i == 0 ? "$p" : ",$p").Append(i);
                command.Parameters.AddWithValue("$p" + i, AuditCanonicalEncoding.FormatId(chunk[i]));
            }

            command.CommandText = sql.Append(')').ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(Guid.ParseExact(reader.GetString(0), "D"));
            }
        }

        return found;
    }

    public async Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + SqliteAuditSchema.Columns + " FROM audit_entries WHERE id = $id";
        command.Parameters.AddWithValue("$id", AuditCanonicalEncoding.FormatId(id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? SqliteAuditRow.Read(reader) : null;
    }

    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, MinLimit, MaxLimit);
        var (sql, parameters) = BuildQuery(query, limit);

        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var entries = new List<AuditEntry>(Math.Min(limit, 128));
        var budget = new AuditPageBudget(query);
        var more = false;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            // Rows are read one at a time: a page that reaches its byte budget ends there, the rest never read.
            while (await reader.ReadAsync(cancellationToken))
            {
                if (entries.Count == limit)
                {
                    more = true;
                    break;
                }

                var entry = SqliteAuditRow.Read(reader);
                if (!budget.TryAdd(entry))
                {
                    more = true;
                    break;
                }

                entries.Add(entry);
            }
        }

        var next = more
            ? new AuditCursor(AuditCanonicalEncoding.FormatTimestamp(entries[^1].Timestamp), AuditCanonicalEncoding.FormatId(entries[^1].Id)).Encode()
            : null;
        return new AuditPage(entries, next);
    }

    /// <summary>The statement <see cref="QueryAsync"/> runs (also what the query-plan tests explain).</summary>
    /// <remarks>Every filter is an equality on a column, plus the time range and the cursor on (timestamp, id), ordered by
    /// (timestamp, id). The three shapes the trail is read by each have an index that serves the filter and the order
    /// together (<see cref="SqliteAuditSchema.CreateIndexes"/>): an entity's history (entity_id, dto_type, timestamp, id),
    /// a user's activity (user_id, timestamp, id), a search by category (category, timestamp, id); a request id reads its
    /// own index and sorts its few entries.</remarks>
    /// <exception cref="ArgumentException">The cursor is not one this store returned.</exception>
    internal static (string Sql, List<(string Name, object Value)> Parameters) BuildQuery(AuditQuery query, int limit)
    {
        var cursor = query.Cursor is null ? (AuditCursor?)null : AuditCursor.Decode(query.Cursor);
        var where = new List<string>();
        var parameters = new List<(string, object)>();
        // The index is chosen here, not left to the planner: without statistics SQLite may prefer the category index over
        // the entity one (both give an equality and the time range). The filter that selects fewest entries leads; every
        // other column is written "+column", which SQLite never serves from an index, so that one index is used.
        var leading = query.RequestId is not null ? "request_id"
            : query.EntityId is not null ? "entity_id"
            : query.UserId is not null ? "user_id"
            : query.Category is not null ? "category"
            : null;
        void Match(string column, string? value)
        {
            if (value is not null)
            {
                var indexed = column == leading || (column == "dto_type" && leading == "entity_id");
                where.Add($"{(indexed ? string.Empty : "+")}{column} = ${column}");
                parameters.Add(("$" + column, value));
            }
        }

        Match("request_id", query.RequestId);
        Match("dto_type", query.DtoType);
        Match("entity_id", query.EntityId);
        Match("user_id", query.UserId);
        Match("service", query.Service);
        Match("category", query.Category is { } category ? AuditCategoryNames.ToName(category) : null);
        Match("operation", query.Operation);
        if (query.From is { } from)
        {
            where.Add("timestamp >= $from");
            parameters.Add(("$from", AuditCanonicalEncoding.FormatTimestamp(from)));
        }

        if (query.To is { } to)
        {
            where.Add("timestamp < $to");
            parameters.Add(("$to", AuditCanonicalEncoding.FormatTimestamp(to)));
        }

        if (cursor is { } c)
        {
            // Row-value comparison: strictly after (or before) the last entry of the previous page.
            where.Add(query.Ascending ? "(timestamp, id) > ($cursor_ts, $cursor_id)" : "(timestamp, id) < ($cursor_ts, $cursor_id)");
            parameters.Add(("$cursor_ts", c.Timestamp));
            parameters.Add(("$cursor_id", c.Id));
        }

        var direction = query.Ascending ? "ASC" : "DESC";
        var sql =
            "SELECT " + SqliteAuditSchema.Columns + " FROM audit_entries" +
            (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty) +
            $" ORDER BY timestamp {direction}, id {direction} LIMIT $limit";
        // One extra row tells whether another page exists without a second query.
        parameters.Add(("$limit", limit + 1));
        return (sql, parameters);
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await InitializeAsync(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_readConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
