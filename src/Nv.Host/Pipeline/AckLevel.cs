namespace Nv.Host.Pipeline;

/// <summary>How far a write has gone when its caller is answered (<c>Nv:Pipeline:Ack</c>, or per request).</summary>
/// <remarks>Every level is answered only after the WAL group commit made the write durable, so every acknowledged write
/// survives a process crash and a power loss. The levels differ in what else has happened by then.</remarks>
public enum AckLevel
{
    /// <summary>The default: answered after the database commit, with the outcome (applied or rejected); a read on this
    /// host right after sees the write. The audit entry follows off the caller's path, with bounded lag.</summary>
    Applied = 0,

    /// <summary>Answered after the WAL group commit, before the database apply: <see cref="WriteStatus.Accepted"/> with the
    /// LSN. The outcome (a conflict or failed precondition is only known after the apply) is read later by request id.</summary>
    Durable = 1,

    /// <summary>Answered after the write's audit entry is committed (or, if the audit store failed, handed to the
    /// backfill, which never loses it).</summary>
    Audited = 2,
}
