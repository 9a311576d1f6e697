using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The pipeline cannot take or finish a write now: boot replay is running, Nv is stopping, or a stage failed.</summary>
/// <remarks>HTTP answers 503 <c>not-ready</c>. When <see cref="DurableLsn"/> is set the write reached the WAL and is durable:
/// it will be applied and audited (at the latest by the next boot replay); a retry with the same request id learns its
/// outcome. Without it nothing was written.</remarks>
public sealed class PipelineUnavailableException : NvException
{
    /// <summary>Creates the exception.</summary>
    public PipelineUnavailableException(string message, Lsn? durableLsn, Exception? innerException = null)
        : base(message, innerException)
    {
        DurableLsn = durableLsn;
    }

    /// <summary>The write's LSN when it is durable in the WAL; null when nothing was written.</summary>
    public Lsn? DurableLsn { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}
