using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>A pipeline stage failed unexpectedly (a bug, a corrupt or failing store): the pipeline takes no more writes.</summary>
/// <remarks>Everything acknowledged is durable in the WAL; a restart recovers through boot replay.</remarks>
public sealed class PipelineFaultedException : NvException
{
    /// <summary>Creates the exception.</summary>
    public PipelineFaultedException(string stage, Exception innerException)
        : base($"The {stage} stage failed: {innerException.Message}", innerException)
    {
        Stage = stage;
    }

    /// <summary>The stage that failed (<c>commit</c>, <c>apply</c>, <c>audit</c>, <c>durable-point</c>).</summary>
    public string Stage { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
