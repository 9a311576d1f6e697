using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Nv.DbWriter.Sqlite;

/// <summary>The SQLite store's <see cref="RequestIdFilter"/>: its build reads <c>_nv_requests</c> on a connection of its
/// own, in chunks by LSN.</summary>
/// <remarks>
/// <para>The writer adds each id it inserts inside the insert's transaction, before the commit; a build starts only between
/// the writer's transactions, under its lock. Each chunk is read in a short snapshot of its own: every id committed before
/// the build started is in whichever snapshot reads its chunk (rows are never moved, only purged), and every id inserted
/// after the build started is added to the new filter directly. A build takes a few hundred milliseconds per million stored
/// ids, in the background.</para>
/// <para>One host per store, which the WAL's directory lock enforces in the default layout (two hosts given one entity
/// store but different WAL directories were never supported: their retries were not found either before they were
/// applied).</para>
/// </remarks>
internal sealed class SqliteRequestIdFilter : RequestIdFilter
{
    // Rows per read snapshot of a build.
    private const int ChunkRows = 65_536;

    private readonly string _readConnectionString;

    public SqliteRequestIdFilter(string readConnectionString, ILogger logger, long minCapacity = MinCapacity)
        : base(logger, minCapacity)
    {
        _readConnectionString = readConnectionString;
    }

    /// <summary>Runs on the build's thread once its first read snapshot is taken (tests hold a build there).</summary>
    internal Action? AfterSnapshot { get; set; }

    protected override Task<long> FillAsync(StringBloomFilter filter, CancellationToken cancellationToken)
    {
        // Its own connection (the writer gives an unpooled one), in chunks by LSN, each its own short read snapshot: a long scan would pin the
        // store's WAL file (no checkpoint could empty it, an erasure's scrub included). Chunking keeps the argument of
        // the remarks: every row committed before the build started is in whichever snapshot reads its LSN range (rows
        // are never moved, only purged), and every row inserted since reaches this filter through Add.
        using var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT lsn, request_id FROM _nv_requests WHERE lsn > $after ORDER BY lsn LIMIT $chunk";
        var after = command.Parameters.AddWithValue("$after", 0L);
        command.Parameters.AddWithValue("$chunk", ChunkRows);
        long read = 0;
        int rows;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            rows = 0;
            using (var reader = command.ExecuteReader())
            {
                if (read == 0)
                {
                    AfterSnapshot?.Invoke();
                }

                while (reader.Read())
                {
                    after.Value = reader.GetInt64(0);
                    filter.Add(reader.GetString(1));
                    rows++;
                }
            }

            read += rows;
        }
        while (rows == ChunkRows);

        return Task.FromResult(read);
    }
}
