using System.Collections.Concurrent;

namespace Nv.Smoke.Tests.Support;

/// <summary>Every write the test sent and every answer it got, across all runs against one data directory.</summary>
internal sealed class WriteLog
{
    private readonly ConcurrentDictionary<string, SentWrite> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WriteReply> _replies = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, SentWrite> Sent => _sent;

    public IReadOnlyDictionary<string, WriteReply> Replies => _replies;

    public void Record(SentWrite write) => _sent.TryAdd(write.RequestId, write);

    /// <summary>Keeps the first answer that named an LSN (a retry must give the same one; the oracle checks).</summary>
    public void Answer(string requestId, WriteReply reply) =>
        _replies.AddOrUpdate(requestId, reply, (_, earlier) => earlier.Durable ? earlier : reply);

    /// <summary>The acknowledged writes: answered with an LSN.</summary>
    public IReadOnlyDictionary<string, WriteReply> Acknowledged() =>
        _replies.Where(r => r.Value.Durable).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
}
