using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit checkpoint [--out DIR]</c>: sign a checkpoint of every chain that grew, then print or export the
/// newest checkpoint of every chain (signed now or earlier), so an auditor always gets one to keep outside the store.</summary>
internal static class AuditCheckpointCommand
{
    public static void AddTo(Command audit)
    {
        var output = new Option<string?>("--out") { Description = "Write each chain's newest checkpoint to DIR/<chain>-<size>.checkpoint." };
        var command = new Command("checkpoint", "Sign Merkle checkpoints of the audit chains that grew and print or export the newest checkpoint of every chain for safekeeping.") { output };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(output), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(string? output, CancellationToken cancellationToken)
    {
        OutputDirectory? directory;
        try
        {
            // Before anything is signed: an --out that is not a directory or cannot be created or written is exit 2.
            directory = output is null ? null : OutputDirectory.Prepare("--out", output);
        }
        catch (BadInputException ex)
        {
            return CommandErrors.Report(ex);
        }

        using var removeIfUnused = directory;
        try
        {
            var host = NvHostFactory.CreateHost([], AuditStore.HostKeyOnly); // signs only with the host's key
            await using var hostScope = (IAsyncDisposable)host;
            ExistingData.RequireAudit(host.Services);
            var proofs = host.Services.GetRequiredService<IAuditProofs>();
            var signed = await proofs.CheckpointAllAsync(cancellationToken);
            // Export the newest checkpoint of every chain, not only those signed now: when no chain grew since the last
            // checkpoint (signed at the host's stop, say) that one is still what the auditor must keep.
            var newest = await proofs.GetLatestCheckpointsAsync(cancellationToken);
            Console.WriteLine($"signed: {signed.Count} checkpoint(s); newest of {newest.Count} chain(s):");
            foreach (var checkpoint in newest)
            {
                if (output is not null)
                {
                    var file = Path.Combine(output, $"{checkpoint.Checkpoint.ChainId}-{checkpoint.Checkpoint.TreeSize}.checkpoint");
                    checkpoint.WriteToFile(file);
                    Console.WriteLine(file);
                }
                else
                {
                    Console.Write(checkpoint.ToText());
                }
            }

            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
