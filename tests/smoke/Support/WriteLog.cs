using System.Collections.Concurrent;

namespace Nv.Smoke.Tests.Support;

/// <summary>One entity write the test sent over HTTP, with everything the oracle needs to predict its WAL record and audit
/// entry: the method, target, body, who, why, metadata and precondition.</summary>
internal sealed record SentWrite(
    string RequestId, string Method, string DtoType, string EntityId, string? Body, string? UserId, string? Reason,
    IReadOnlyDictionary<string, string> Metadata, long? IfMatch)
{
    /// <summary>The WAL operation: POST creates, DELETE deletes, PUT and PATCH update.</summary>
    public string Operation => Method switch
    {
        "POST" => "create",
        "DELETE" => "delete",
        _ => "update",
    };

    public bool IsPatch => Method == "PATCH";
}

/// <summary>The answer to a write: its HTTP status, the LSN it names (absent when nothing was written) and the problem type.</summary>
internal sealed record WriteReply(int Status, long? Lsn, string? ProblemType)
{
    /// <summary>Whether the write is durable in the WAL: every answer that names an LSN (applied, rejected, or 503 pending).</summary>
    public bool Durable => Lsn is not null;

    /// <summary>applied, rejected or pending (durable, outcome decided later); null when nothing was written.</summary>
    public string? Outcome => Lsn is null ? null : Status is >= 200 and < 300 ? "applied" : Status == 503 ? "pending" : "rejected";
}

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
