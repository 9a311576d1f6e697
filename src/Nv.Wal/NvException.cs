namespace Nv;

/// <summary>Base class of every Nv-specific failure, whichever library throws it (WAL, database writer, audit trail, pipeline).</summary>
/// <remarks>In the root namespace <c>Nv</c>, so code in any <c>Nv.*</c> namespace sees it without a <c>using</c>. It lives in the
/// <c>Nv.Wal</c> assembly only because every Nv library and package depends on that one; it is not a WAL type.</remarks>
public abstract class NvException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected NvException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>Whether retrying the same operation later may succeed (e.g. the database is unreachable).</summary>
    public abstract bool IsTransient { get; }
}
