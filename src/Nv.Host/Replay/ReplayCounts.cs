namespace Nv.Host.Replay;

/// <summary>What the replay stages did; each field has one writer stage and is read after the stages have finished.</summary>
internal sealed class ReplayCounts
{
    /// <summary>Records read from the WAL and applied (or resolved before).</summary>
    public long Read;

    /// <summary>Records written to the database by this replay.</summary>
    public long Replayed;

    /// <summary>Records the database already reflected.</summary>
    public long AlreadyApplied;

    /// <summary>Records deterministically rejected.</summary>
    public long Rejected;

    /// <summary>Audit entries written from the apply results.</summary>
    public long Audited;
}
