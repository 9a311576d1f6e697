namespace Nv.Host.Pipeline;

/// <summary>The audit store could not answer a query (it is unreachable, locked or failing).</summary>
/// <remarks>Writes are not affected: an audit store outage never fails a write, and the missing entries are backfilled
/// from the WAL once the store is back. Retry the query later.</remarks>
public sealed class AuditUnavailableException : NvException
{
    /// <summary>Creates the exception.</summary>
    public AuditUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => true;

    /// <summary>Whether <paramref name="exception"/>, thrown by an audit store's read, is a failure of the store (and so
    /// this exception's cause) rather than one of its answers by contract: an <see cref="NvException"/> (no proofs in this
    /// store, say), a bad argument (a cursor or a tree size), an unknown chain (<see cref="KeyNotFoundException"/>) or a
    /// cancelled read; nor is a row the store cannot decode (<see cref="FormatException"/>: tampered with, or written by a
    /// newer Nv; <see cref="InvalidDataException"/>): that is damage, which no retry mends (the verifier names it).</summary>
    internal static bool IsStoreFailure(Exception exception) =>
        exception is not (NvException or ArgumentException or KeyNotFoundException or OperationCanceledException
            or FormatException or InvalidDataException);
}
