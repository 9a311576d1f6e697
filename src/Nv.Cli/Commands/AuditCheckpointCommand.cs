using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit checkpoint [--out DIR]</c>: sign a checkpoint of every chain that grew and export the newest ones.</summary>
internal static class AuditCheckpointCommand
{
    public static void AddTo(Command audit)
    {
        var output = new Option<string?>("--out") { Description = "Write each chain's newest checkpoint to DIR/<chain>-<size>.checkpoint." };
        var command = new Command("checkpoint", "Sign Merkle checkpoints of the audit chains and optionally export them for safekeeping.") { output };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(output), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(string? output, CancellationToken cancellationToken)
    {
        try
        {
            var host = NvHostFactory.CreateHost([]);
            await using var hostScope = (IAsyncDisposable)host;
            var proofs = host.Services.GetRequiredService<IAuditProofs>();
            var signed = await proofs.CheckpointAllAsync(cancellationToken);
            Console.WriteLine($"signed: {signed.Count} checkpoint(s)");
            foreach (var checkpoint in signed)
            {
                if (output is not null)
                {
                    Directory.CreateDirectory(output);
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
