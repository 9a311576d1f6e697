namespace Nv.Wal.Protection;

/// <summary>The master key is missing, unreadable, malformed, or not the one the stored data keys were wrapped with.</summary>
/// <remarks>Its message is one line an operator can act on (the CLI prints it and exits 2). Never transient: the
/// configuration must change.</remarks>
public sealed class MasterKeyException : NvException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line: what is wrong and what to do.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public MasterKeyException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
