using System.CommandLine;

namespace Nv.Host.Commands;

/// <summary>The <c>nv audit</c> command group (Merkle proofs and verification; query commands live alongside).</summary>
internal static class AuditCommands
{
    /// <summary>Adds <c>audit</c> with its subcommands to <paramref name="root"/>.</summary>
    public static Command AddTo(RootCommand root)
    {
        var audit = new Command("audit", "Inspect and verify the audit trail.");
        AuditProveCommand.AddTo(audit);
        AuditVerifyCommand.AddTo(audit);
        AuditCheckpointCommand.AddTo(audit);
        root.Subcommands.Add(audit);
        return audit;
    }
}
