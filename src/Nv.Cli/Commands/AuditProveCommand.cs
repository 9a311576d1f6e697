using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit prove ENTRY-ID [--tree-size N] [--checkpoint-out FILE]</c>: print an entry's Merkle inclusion proof.</summary>
internal static class AuditProveCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void AddTo(Command audit)
    {
        var entryId = new Argument<Guid>("entry-id") { Description = "The audit entry id." };
        var treeSize = new Option<long?>("--tree-size") { Description = "Prove against this tree size (default: the newest checkpoint covering the entry)." };
        var checkpointOut = new Option<string?>("--checkpoint-out") { Description = "Also write the signed checkpoint to this file." };
        var command = new Command("prove", "Print the RFC 9162 inclusion proof of an audit entry, with its signed checkpoint, as JSON.")
        {
            entryId,
            treeSize,
            checkpointOut,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(entryId), parse.GetValue(treeSize), parse.GetValue(checkpointOut), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(Guid entryId, long? treeSize, string? checkpointOut, CancellationToken cancellationToken)
    {
        try
        {
            var host = NvHostFactory.CreateHost([]);
            await using var hostScope = (IAsyncDisposable)host;
            var proofs = host.Services.GetRequiredService<IAuditProofs>();
            var proof = await proofs.GetInclusionProofAsync(entryId, treeSize, cancellationToken);
            if (proof is null)
            {
                await Console.Error.WriteLineAsync($"No audit entry has id {entryId}.");
                return ExitCodes.Failed;
            }

            if (checkpointOut is not null && proof.Checkpoint is { } checkpoint)
            {
                checkpoint.WriteToFile(checkpointOut);
            }

            Console.WriteLine(JsonSerializer.Serialize(new
            {
                entryId = proof.Entry.Id,
                chain = proof.Chain,
                sequence = proof.Entry.Sequence,
                leafIndex = proof.LeafIndex,
                treeSize = proof.TreeSize,
                leafHash = proof.LeafHash.ToHex(),
                path = proof.Path.Path.Select(h => h.ToHex()).ToArray(),
                root = proof.Root.ToHex(),
                verified = proof.Verify(),
                checkpoint = proof.Checkpoint?.ToText(),
            }, Indented));
            return ExitCodes.Ok;
        }
        catch (ArgumentOutOfRangeException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return ExitCodes.Usage;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
