using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The configured store cannot apply a batch atomically (MongoDB without a replica set); nothing was written.</summary>
/// <remarks>HTTP answers 501 <c>batches-not-supported</c>. Not transient: the store's deployment has to change.</remarks>
public sealed class BatchesNotSupportedException : NvException
{
    /// <summary>Creates the exception.</summary>
    public BatchesNotSupportedException(string message)
        : base(message)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
