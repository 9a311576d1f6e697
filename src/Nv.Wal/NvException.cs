namespace Nv.Wal;

/// <summary>Base class of every Nv-specific failure.</summary>
public abstract class NvException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected NvException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }

    /// <summary>Whether retrying the same operation later may succeed (e.g. the database is unreachable).</summary>
    public abstract bool IsTransient { get; }
}
