using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>The open change-feed streams (<c>GET /v1/changes</c>), counted against <see cref="HttpOptions.MaxChangeFeedStreams"/>
/// for the host and <see cref="HttpOptions.MaxChangeFeedStreamsPerKey"/> for each API key.</summary>
/// <remarks>Each stream holds a page of changes until its client has taken it (<c>Nv:Pipeline:ChangeFeedPageBytes</c>), so
/// the limit bounds what stalled clients can hold together, and the per-key limit keeps one reader key from taking every
/// slot. A stream takes its slot before it starts and gives it back when it ends, however it ends (client gone, host
/// stopping, <c>follow=false</c> caught up, <c>gone</c>); a stream refused for a limit is a 503 or 429 and nothing else is
/// affected. With authentication off there is no key (null) and only the host's limit applies. Thread-safe: request
/// threads take and give back slots concurrently (under one lock: streams open rarely).</remarks>
internal sealed class ChangeStreamLimit
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _byKey = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private int _open;

    public ChangeStreamLimit(IOptions<HttpOptions> options, ILogger<ChangeStreamLimit> logger)
    {
        Max = options.Value.MaxChangeFeedStreams;
        MaxPerKey = Math.Min(options.Value.MaxChangeFeedStreamsPerKey, Max);
        _logger = logger;
    }

    public int Max { get; }

    public int MaxPerKey { get; }

    public int Open => Volatile.Read(ref _open);

    /// <summary>The streams <paramref name="key"/> holds open.</summary>
    public int OpenFor(string key)
    {
        lock (_gate)
        {
            return _byKey.GetValueOrDefault(key);
        }
    }

    /// <summary>Takes a slot for <paramref name="key"/> (null: no key, authentication off); anything but
    /// <see cref="ChangeStreamAdmission.Entered"/> is logged and takes nothing. An entered stream must be matched by one
    /// <see cref="Exit"/> with the same key.</summary>
    public ChangeStreamAdmission TryEnter(string? key)
    {
        lock (_gate)
        {
            if (_open >= Max)
            {
                Log.ChangeFeedStreamsFull(_logger, Max);
                return ChangeStreamAdmission.HostFull;
            }

            if (key is not null)
            {
                var held = _byKey.GetValueOrDefault(key);
                if (held >= MaxPerKey)
                {
                    Log.ChangeFeedKeyStreamsFull(_logger, key, MaxPerKey);
                    return ChangeStreamAdmission.KeyFull;
                }

                _byKey[key] = held + 1;
            }

            Volatile.Write(ref _open, _open + 1);
            return ChangeStreamAdmission.Entered;
        }
    }

    public void Exit(string? key)
    {
        lock (_gate)
        {
            Volatile.Write(ref _open, _open - 1);
            if (key is not null && _byKey.TryGetValue(key, out var held))
            {
                if (held <= 1)
                {
                    _byKey.Remove(key);
                }
                else
                {
                    _byKey[key] = held - 1;
                }
            }
        }
    }
}
