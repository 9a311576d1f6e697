using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Nv.DbWriter;

/// <summary>The request ids a store holds outcomes for, as a Bloom filter in memory (<see cref="StringBloomFilter"/>): the
/// commit stage's lookup skips the store for ids it has never seen, which is nearly every id. Each store reads its own ids
/// (<see cref="FillAsync"/>); the build's life cycle is shared.</summary>
/// <remarks>
/// <para>The filter may answer "maybe" for an id the store does not hold (the store is then read, as without it), never
/// "no" for one it holds. Two sources fill it: a build, which reads every stored id, and the writer, which adds each id
/// before the write that stores it can be committed (<see cref="Add"/>). A build starts only while the writer holds its
/// lock between batches (<see cref="StartBuildIfDue"/>), so no outcome write is in flight: every id stored before the
/// build started is in the collection or table the build reads (outcomes are never moved, only purged), and every id
/// added after it started is added to the new filter directly. Until the first build finishes every id reads as
/// "maybe".</para>
/// <para>Purged outcomes stay in the filter as false positives; a new build starts once more ids were added than the
/// filter was sized for (up to <see cref="MaxCapacity"/>; past that the false-positive rate grows, answers stay exact).
/// Valid while this writer is the only one storing request outcomes: one host per store.</para>
/// </remarks>
internal abstract class RequestIdFilter : IDisposable
{
    /// <summary>The smallest filter built: 1M ids, 2 MiB.</summary>
    internal const long MinCapacity = 1 << 20;

    /// <summary>The largest filter built: 8M ids, 16 MiB.</summary>
    internal const long MaxCapacity = 1 << 23;

    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(30);

    private readonly ILogger _logger;
    private readonly long _minCapacity;
    private readonly CancellationTokenSource _stop = new();
    private volatile StringBloomFilter? _ready;
    private volatile StringBloomFilter? _building;
    private Task _build = Task.CompletedTask;
    private long _retryAt;
    private bool _disposed;

    protected RequestIdFilter(ILogger logger, long minCapacity)
    {
        _logger = logger;
        _minCapacity = minCapacity;
    }

    /// <summary>Whether a build finished, so <see cref="MightHave"/> can answer "no".</summary>
    public bool IsReady => _ready is not null;

    /// <summary>The latest build (tests).</summary>
    internal Task Build => _build;

    /// <summary>Ids added to the filter in use (repeats counted; 0 before the first build).</summary>
    public long Count => _ready?.Count ?? 0;

    /// <summary>False only when the store holds no outcome for <paramref name="requestId"/>.</summary>
    public bool MightHave(string requestId) => _ready is not { } ready || ready.MightContain(requestId);

    /// <summary>Called by the writer for every request id it stores, before that write can commit.</summary>
    public void Add(string requestId)
    {
        // _building first: a build that finishes now publishes its filter as _ready before it clears _building.
        _building?.Add(requestId);
        _ready?.Add(requestId);
    }

    /// <summary>Starts a build when none ran yet (or the last failed a while ago) or the filter is over its size. Called
    /// under the writer's lock, with no outcome write in flight.</summary>
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
        _build = Task.Run(() => BuildAsync(filter, token), CancellationToken.None);
    }

    /// <summary>Adds every request id the store holds to <paramref name="filter"/>; returns how many it read. Runs on a
    /// thread pool thread, concurrently with the writer.</summary>
    protected abstract Task<long> FillAsync(StringBloomFilter filter, CancellationToken cancellationToken);

    private async Task BuildAsync(StringBloomFilter filter, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var read = await FillAsync(filter, cancellationToken);
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
        _build.Wait(); // BuildAsync never throws
        _stop.Dispose();
    }
}
