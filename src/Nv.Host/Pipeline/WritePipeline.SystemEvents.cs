using System.Globalization;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // A fault is recorded in the audit trail (system-events) off the failing stage's path: the stage must answer its callers
    // and stop now, and the audit store may be slow. The lifecycle waits for the entry before the host stops.
    private void RecordFault(string stage, Exception exception)
    {
        var (operation, subject, metadata) = exception switch
        {
            WalFaultedException wal => (NvOperations.WalFaulted, "wal", new Dictionary<string, string>
            {
                ["path"] = wal.Path ?? "",
                ["errno"] = wal.ErrnoName,
                ["durableLsn"] = Text(_wal.DurableLsn.Value),
            }),
            DbWriterException { IsTransient: false } db => (NvOperations.StoreStopped, "database", new Dictionary<string, string>
            {
                ["stage"] = stage,
                ["errorClass"] = db.ErrorClass.ToString(),
            }),
            _ => (NvOperations.PipelineFaulted, stage, new Dictionary<string, string>
            {
                ["stage"] = stage,
                ["exception"] = exception.GetType().Name,
            }),
        };
        try
        {
            _audit.RecordSystemInBackground(AuditEntryFactory.SystemEvent(_options.Service, operation, subject,
                Truncate(exception.Message), metadata, _time));
        }
        catch (ArgumentException)
        {
            // The entry could not be built (no service name): the CRITICAL log already says what happened.
        }
    }

    private async Task RecordTruncationAsync(Lsn held, Lsn first, CancellationToken cancellationToken) =>
        await _audit.RecordSystemAsync(AuditEntryFactory.SystemEvent(_options.Service, NvOperations.WalTruncated, "wal",
            $"WAL records {held.Value}..{first.Value - 1} removed (applied, audited and past retention)",
            new Dictionary<string, string>
            {
                ["fromLsn"] = Text(held.Value),
                ["throughLsn"] = Text(first.Value - 1),
                ["firstLsn"] = Text(first.Value),
            }, _time), cancellationToken);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Truncate(string text) => text.Length <= 1024 ? text : text[..1024] + "...";
}
