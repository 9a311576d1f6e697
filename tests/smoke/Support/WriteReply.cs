namespace Nv.Smoke.Tests.Support;

/// <summary>The answer to a write: its HTTP status, the LSN it names (absent when nothing was written) and the problem type.</summary>
internal sealed record WriteReply(int Status, long? Lsn, string? ProblemType)
{
    /// <summary>Whether the write is durable in the WAL: every answer that names an LSN (applied, rejected, or 503 pending).</summary>
    public bool Durable => Lsn is not null;

    /// <summary>applied, rejected or pending (durable, outcome decided later); null when nothing was written.</summary>
    public string? Outcome => Lsn is null ? null : Status is >= 200 and < 300 ? "applied" : Status == 503 ? "pending" : "rejected";
}
