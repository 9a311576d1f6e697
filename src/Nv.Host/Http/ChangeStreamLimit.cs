using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>The open change-feed streams (<c>GET /v1/changes</c>), counted against <see cref="HttpOptions.MaxChangeFeedStreams"/>.</summary>
/// <remarks>Each stream holds a page of changes until its client has taken it (<c>Nv:Pipeline:ChangeFeedPageBytes</c>), so
/// the limit bounds what stalled clients can hold together. A stream takes its slot before it starts and gives it back when
/// it ends, however it ends (client gone, host stopping, <c>follow=false</c> caught up, <c>gone</c>); a stream refused for
/// the limit is a 503 and nothing else is affected. Thread-safe: request threads take and give back slots concurrently.</remarks>
internal sealed class ChangeStreamLimit
{
    private readonly ILogger _logger;
    private int _open;

    public ChangeStreamLimit(IOptions<HttpOptions> options, ILogger<ChangeStreamLimit> logger)
    {
        Max = options.Value.MaxChangeFeedStreams;
        _logger = logger;
    }

    public int Max { get; }

    public int Open => Volatile.Read(ref _open);

    /// <summary>Takes a slot; false (logged) when all <see cref="Max"/> are taken. A true answer must be matched by one
    /// <see cref="Exit"/>.</summary>
    public bool TryEnter()
    {
        for (var open = Volatile.Read(ref _open); open < Max; open = Volatile.Read(ref _open))
        {
            if (Interlocked.CompareExchange(ref _open, open + 1, open) == open)
            {
                return true;
            }
        }

        Log.ChangeFeedStreamsFull(_logger, Max);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _open);
}
