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
}
