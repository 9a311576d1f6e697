using System.Text.Json;

namespace Nv.DbWriter.Sqlite;

// IDataKeyStore.MapStoredEntitiesAsync: entities written before their type was mapped to a payload field's subject get
// their _nv_subjects row and hand their own keys over (SqliteKeys.Map), a chunk per durable transaction; a completed pass
// is recorded in _nv_meta (key entity_mapping:<dtoType>=<rule>, value 1) in the last chunk's transaction.
internal sealed partial class SqliteDbWriter
{
    private const int MappingChunk = 1000;

    public Task<IReadOnlyList<StoredEntityMapping>> MapStoredEntitiesAsync(IReadOnlyList<SubjectMappingRule> rules, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var passes = rules.ToDictionary(EntitySubjects.Pass, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        WriteDurably("mapping of stored entities", (connection, transaction) =>
        {
            var recorded = new List<string>();
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = $"SELECT key FROM _nv_meta WHERE key >= '{EntitySubjects.PassPrefix}' AND key < '{EntitySubjects.PassEnd}'";
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    recorded.Add(reader.GetString(0));
                }
            }

            using var forget = connection.CreateCommand();
            forget.Transaction = transaction;
            forget.CommandText = "DELETE FROM _nv_meta WHERE key = $key";
            var key = forget.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Text);
            foreach (var pass in recorded)
            {
                if (passes.ContainsKey(pass))
                {
                    done.Add(pass);
                }
                else
                {
                    key.Value = pass; // a rule no longer set: entities written meanwhile may be unmapped again
                    forget.ExecuteNonQuery();
                }
            }

            return 0;
        });

        var results = new List<StoredEntityMapping>(rules.Count);
        foreach (var (pass, rule) in passes)
        {
            results.Add(done.Contains(pass)
                ? new StoredEntityMapping { DtoType = rule.DtoType, Mapped = 0, Unnamed = 0, AlreadyDone = true }
                : MapStoredEntities(rule, pass, cancellationToken));
        }

        return Task.FromResult<IReadOnlyList<StoredEntityMapping>>(results);
    }

    private StoredEntityMapping MapStoredEntities(SubjectMappingRule rule, string pass, CancellationToken cancellationToken)
    {
        long mapped = 0, unnamed = 0;
        var after = string.Empty; // ids are never empty: the cursor past every entity already looked at (unnamed ones stay unmapped)
        var finished = false;
        while (!finished)
        {
            cancellationToken.ThrowIfCancellationRequested();
            mapped += WriteDurably("mapping of stored entities", (connection, transaction) =>
            {
                var found = new List<(string Id, string Document)>(MappingChunk);
                if (FindTable(connection, rule.DtoType) is not null)
                {
                    using var select = connection.CreateCommand();
                    select.Transaction = transaction;
                    select.CommandText = $"""
                        SELECT t.id, t.document FROM {SqliteIdentifiers.QuoteTable(rule.DtoType)} t
                        WHERE t._nv_deleted = 0 AND t.id > $after
                          AND NOT EXISTS (SELECT 1 FROM _nv_subjects s WHERE s.dto_type = $type AND s.entity_id = t.id)
                        ORDER BY t.id LIMIT {MappingChunk}
                        """;
                    select.Parameters.AddWithValue("$after", after);
                    select.Parameters.AddWithValue("$type", rule.DtoType);
                    using var reader = select.ExecuteReader();
                    while (reader.Read())
                    {
                        found.Add((reader.GetString(0), reader.GetString(1)));
                    }
                }

                long here = 0;
                foreach (var (id, document) in found)
                {
                    using var json = JsonDocument.Parse(document);
                    if (rule.SubjectOf(json.RootElement) is { } subject)
                    {
                        _keys!.Map(rule.DtoType, id, subject, handOver: true);
                        here++;
                    }
                    else
                    {
                        unnamed++;
                    }
                }

                if (found.Count < MappingChunk)
                {
                    using var record = connection.CreateCommand();
                    record.Transaction = transaction;
                    record.CommandText = "INSERT OR REPLACE INTO _nv_meta (key, value) VALUES ($key, 1)";
                    record.Parameters.AddWithValue("$key", pass);
                    record.ExecuteNonQuery();
                    finished = true;
                }
                else
                {
                    after = found[^1].Id;
                }

                return here;
            });
        }

        if (mapped > 0)
        {
            _logger.StoredEntitiesMapped(rule.DtoType, mapped);
        }

        return new StoredEntityMapping { DtoType = rule.DtoType, Mapped = mapped, Unnamed = unnamed, AlreadyDone = false };
    }
}
