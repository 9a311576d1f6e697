using Nv.Wal;

namespace Nv.Audit.Merkle;

/// <summary>A checkpoint file or text is not in the <c>nv-audit-checkpoint/v1</c> format.</summary>
public sealed class CheckpointFormatException : NvException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointFormatException(string message, int lineNumber, Exception? innerException = null)
        : base(lineNumber > 0 ? $"Checkpoint line {lineNumber}: {message}" : $"Checkpoint: {message}", innerException)
    {
        LineNumber = lineNumber;
    }

    /// <summary>The 1-based line holding the problem, or 0 when it concerns the whole text.</summary>
    public int LineNumber { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
