using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Nv.DbWriter.Sqlite;

/// <summary>The request ids the store holds outcomes for, as a Bloom filter in memory: the commit stage's lookup skips the
/// store for ids it has never seen, which is nearly every id.</summary>
/// <remarks>
/// <para>The filter may answer "maybe" for an id the store does not hold (the store is then read, as without it), never
/// "no" for one it holds. Two sources fill it: a build, which scans every stored id (in chunks by LSN, each read in a short
/// snapshot of its own), and the writer, which adds each id it inserts inside the insert's transaction, before the commit
/// (<see cref="Add"/>). A build starts only between the writer's transactions, under its lock (<see cref="StartBuildIfDue"/>):
/// every id committed before the build started is in whichever snapshot reads its chunk (rows are never moved, only
/// purged), and every id inserted after the build started is added to the new filter directly. Until
/// the first build finishes (a few hundred milliseconds per million stored ids, in the background) every id reads as
/// "maybe".</para>
/// <para>Purged outcomes stay in the filter as false positives; a new build starts once more ids were added than the
/// filter was sized for (up to <see cref="MaxCapacity"/>; past that the false-positive rate grows, answers stay exact).
/// Valid while this writer is the only one inserting request outcomes into the file: one host per store, which the WAL's
/// directory lock enforces in the default layout (two hosts given one entity store but different WAL directories were
/// never supported: their retries were not found either before they were applied).</para>
/// </remarks>
internal sealed class SqliteRequestIdFilter : IDisposable
{
    /// <summary>The smallest filter built: 1M ids, 2 MiB.</summary>
    internal const long MinCapacity = 1 << 20;

    /// <summary>The largest filter built: 8M ids, 16 MiB.</summary>
    internal const long MaxCapacity = 1 << 23;

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(30);

    // Rows per read snapshot of a build.
    private const int ChunkRows = 65_536;

    private readonly string _readConnectionString;
    private readonly ILogger _logger;
    private readonly long _minCapacity;
    private readonly CancellationTokenSource _stop = new();
    private volatile StringBloomFilter? _ready;
    private volatile StringBloomFilter? _building;
    private Task _build = Task.CompletedTask;
    private long _retryAt;
    private bool _disposed;

    public SqliteRequestIdFilter(string readConnectionString, ILogger logger, long minCapacity = MinCapacity)
    {
        _readConnectionString = readConnectionString;
        _logger = logger;
        _minCapacity = minCapacity;
    }

    /// <summary>Whether a build finished, so <see cref="MightHave"/> can answer "no".</summary>
    public bool IsReady => _ready is not null;

    /// <summary>The latest build (tests).</summary>
    internal Task Build => _build;

    /// <summary>Runs on the build's thread once its first read snapshot is taken (tests hold a build there).</summary>
    internal Action? AfterSnapshot { get; set; }

    /// <summary>False only when the store holds no outcome for <paramref name="requestId"/>.</summary>
    public bool MightHave(string requestId) => _ready is not { } ready || ready.MightContain(requestId);

    /// <summary>Called by the writer for every request id it inserts, inside the insert's transaction.</summary>
    public void Add(string requestId)
    {
        // _building first: a build that finishes now publishes its filter as _ready before it clears _building.
        _building?.Add(requestId);
        _ready?.Add(requestId);
    }

    /// <summary>Starts a build when none ran yet (or the last failed a while ago) or the filter is over its size. Called
    /// under the writer's lock, outside any transaction.</summary>
    /// <param name="storedIds">An upper bound of the ids stored (sizes the new filter).</param>
    public void StartBuildIfDue(Func<long> storedIds)
    {
        if (_disposed || _building is not null)
        {
            return;
        }

        var ready = _ready;
        if (Stopwatch.GetTimestamp() < Interlocked.Read(ref _retryAt) // a build failed a short while ago
            || (ready is not null && (ready.Count <= ready.Capacity || ready.Capacity >= MaxCapacity)))
        {
            return;
        }

        var filter = new StringBloomFilter(Math.Clamp(2 * storedIds(), _minCapacity, Math.Max(_minCapacity, MaxCapacity)));
        _building = filter;
        var token = _stop.Token;
        _build = Task.Run(() => Fill(filter, token), CancellationToken.None);
    }

    private void Fill(StringBloomFilter filter, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
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

            _ready = filter;
            _building = null;
            _logger.RequestIdFilterBuilt(read, filter.Capacity, filter.SizeBytes, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            _building = null;
            Interlocked.Exchange(ref _retryAt, Stopwatch.GetTimestamp() + (long)(RetryAfterFailure.TotalSeconds * Stopwatch.Frequency));
            if (ex is not OperationCanceledException)
            {
                _logger.RequestIdFilterFailed(ex, RetryAfterFailure.TotalSeconds);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Cancel();
        _build.Wait(); // Fill never throws
        _stop.Dispose();
    }
}
