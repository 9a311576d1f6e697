using System.Globalization;
using System.Reflection;
using Nv.Audit;
using Nv.Host.Pipeline;
using Nv.Host.Replay;

namespace Nv.Host.Hosting;

/// <summary>The audit entries of a start: what recovery and boot replay did (<c>system-events</c>), what differs from the last
/// run (<c>environment-change</c>), and the <c>service-start</c> entry itself.</summary>
internal sealed partial class NvLifecycle
{
    private async Task RecordStartAsync(ReplaySummary summary, CancellationToken cancellationToken)
    {
        var service = _options.Service;
        var recovery = _wal.Recovery;
        if (recovery.TailBytesCut > 0 || recovery.RecordsSkipped > 0)
        {
            await _audit.RecordSystemAsync(AuditEntryFactory.SystemEvent(service,
                recovery.TailBytesCut > 0 ? NvOperations.WalTailCut : NvOperations.WalRecordsSkipped, "wal", recovery.Detail, new Dictionary<string, string>
                {
                    ["tailBytesCut"] = Text(recovery.TailBytesCut),
                    ["recordsSkipped"] = Text(recovery.RecordsSkipped),
                    ["brokenTailPath"] = recovery.BrokenTailPath ?? "",
                    ["lastLsn"] = Text(recovery.LastLsn.Value),
                }), cancellationToken);
        }

        if (summary.RecordsRead > 0 || summary.AuditBackfilled > 0)
        {
            await _audit.RecordSystemAsync(AuditEntryFactory.SystemEvent(service, AuditEntryFactory.ReplayFinishedOperation, "wal", null,
                new Dictionary<string, string>
                {
                    ["recordsRead"] = Text(summary.RecordsRead),
                    ["replayed"] = Text(summary.Replayed),
                    ["alreadyApplied"] = Text(summary.AlreadyApplied),
                    ["rejected"] = Text(summary.Rejected),
                    ["auditBackfilled"] = Text(summary.AuditBackfilled),
                    ["durationMs"] = Text((long)summary.Duration.TotalMilliseconds),
                }), cancellationToken);
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["environment"] = _options.Environment,
            ["service"] = service,
            ["writer"] = AuditCoordinator.KindOf(_db.GetType().Name),
            ["auditStore"] = _audit.SinkKind,
            ["version"] = typeof(NvLifecycle).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
        };
        if (await _audit.SigningKeyIdAsync(cancellationToken) is { } keyId)
        {
            environment[AuditCoordinator.SigningKeyIdName] = keyId;
        }

        await _audit.RecordStartAsync(service, environment, cancellationToken);
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
