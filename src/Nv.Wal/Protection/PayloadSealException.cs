namespace Nv.Wal.Protection;

/// <summary>A sealed (encrypted) value does not open: it was changed after it was written, moved to another record, or
/// sealed under another key. Damage or tampering, never a transient condition.</summary>
public sealed class PayloadSealException : NvException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed to open, and where.</param>
    /// <param name="keyId">The data key the value names.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public PayloadSealException(string message, Guid keyId, Exception? innerException = null)
        : base(message, innerException)
    {
        KeyId = keyId;
    }

    /// <summary>The data key the value names.</summary>
    public Guid KeyId { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
