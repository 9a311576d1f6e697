using System.CommandLine;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit ...</c>: the audit command group. Each subcommand is its own class; add new ones (e.g. <c>prove</c>)
/// with one line in <see cref="Create"/>.</summary>
/// <remarks>Audit commands read the audit store only (SQLite readers may run next to a live host); they never open the WAL.</remarks>
internal static class AuditCommand
{
    public static Command Create()
    {
        var audit = new Command("audit", "Query and verify the audit trail.");
        audit.Subcommands.Add(AuditQueryCommand.Create());
        audit.Subcommands.Add(AuditHistoryCommand.Create());
        audit.Subcommands.Add(AuditVerifyCommand.Create());
        AuditProveCommand.AddTo(audit);
        AuditCheckpointCommand.AddTo(audit);
        AuditArchiveCommand.AddTo(audit);
        AuditPruneCommand.AddTo(audit);
        AuditKeysCommand.AddTo(audit);
        return audit;
    }

    public static void AddTo(RootCommand root) => root.Subcommands.Add(Create());
}
