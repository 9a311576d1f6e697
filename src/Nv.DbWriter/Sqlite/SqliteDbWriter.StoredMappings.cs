using System.Text.Json;

namespace Nv.DbWriter.Sqlite;

// IDataKeyStore.MapStoredEntitiesAsync: entities written before their type was mapped to a payload field's subject get
// their _nv_subjects row and hand their own keys over (SqliteKeys.Map), a chunk per durable transaction.
internal sealed partial class SqliteDbWriter
{
    private const int MappingChunk = 1000;

    public Task<StoredEntityMapping> MapStoredEntitiesAsync(string dtoType, Func<JsonElement, string?> subjectOf, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dtoType);
        ArgumentNullException.ThrowIfNull(subjectOf);
        long mapped = 0, unnamed = 0;
        var after = string.Empty; // ids are never empty: the cursor past every entity already looked at (unnamed ones stay unmapped)
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (seen, last) = (0, after);
            mapped += WriteDurably("mapping of stored entities", (connection, transaction) =>
            {
                if (FindTable(connection, dtoType) is null)
                {
                    return 0;
                }

                var found = new List<(string Id, string Document)>(MappingChunk);
                using (var select = connection.CreateCommand())
                {
                    select.Transaction = transaction;
                    select.CommandText = $"""
                        SELECT t.id, t.document FROM {SqliteIdentifiers.QuoteTable(dtoType)} t
                        WHERE t._nv_deleted = 0 AND t.id > $after
                          AND NOT EXISTS (SELECT 1 FROM _nv_subjects s WHERE s.dto_type = $type AND s.entity_id = t.id)
                        ORDER BY t.id LIMIT {MappingChunk}
                        """;
                    select.Parameters.AddWithValue("$after", after);
                    select.Parameters.AddWithValue("$type", dtoType);
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
                    if (subjectOf(json.RootElement) is { } subject)
                    {
                        _keys!.Map(dtoType, id, subject);
                        here++;
                    }
                    else
                    {
                        unnamed++;
                    }
                }

                seen = found.Count;
                last = found.Count > 0 ? found[^1].Id : after;
                return here;
            });

            if (seen < MappingChunk)
            {
                break;
            }

            after = last;
        }

        if (mapped > 0)
        {
            _logger.StoredEntitiesMapped(dtoType, mapped);
        }

        return Task.FromResult(new StoredEntityMapping { Mapped = mapped, Unnamed = unnamed });
    }
}
