namespace Nv.Smoke.Tests.Support;

/// <summary>The answer to a write: its HTTP status, the LSN it names (absent when nothing was written), the problem type,
/// and the <c>status</c> a success body states (<c>applied</c>; an answer given once the write was only durable states
/// something else).</summary>
internal sealed record WriteReply(int Status, long? Lsn, string? ProblemType, string? BodyStatus = null)
{
    /// <summary>Whether the write is durable in the WAL: every answer that names an LSN (applied, rejected, or 503 pending).</summary>
    public bool Durable => Lsn is not null;

    /// <summary>applied, rejected or pending (durable, outcome decided later: a 503, or a success that does not say
    /// applied, e.g. an answer at the durable acknowledgement level); null when nothing was written.</summary>
    public string? Outcome => Lsn is null ? null
        : Status is >= 200 and < 300 ? (BodyStatus == "applied" ? "applied" : "pending")
        : Status == 503 ? "pending" : "rejected";
}
