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
        var archive = new Option<string?>("--archive") { Description = "Prove an archived (perhaps pruned) entry from this archive file alone, against its checkpoint." };
        var publicKey = new Option<string?>("--public-key") { Description = "With --archive: the key the archive's checkpoint must verify with." };
        var command = new Command("prove", "Print the RFC 9162 inclusion proof of an audit entry, with its signed checkpoint, as JSON.")
        {
            entryId,
            treeSize,
            checkpointOut,
            archive,
            publicKey,
        };
        command.SetAction((parse, ct) => parse.GetValue(archive) is { } file
            ? RunFromArchiveAsync(parse.GetValue(entryId), file, parse.GetValue(publicKey), parse.GetValue(checkpointOut), ct)
            : RunAsync(parse.GetValue(entryId), parse.GetValue(treeSize), parse.GetValue(checkpointOut), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(Guid entryId, long? treeSize, string? checkpointOut, CancellationToken cancellationToken)
    {
        if (treeSize is < 1)
        {
            await Console.Error.WriteLineAsync($"nv: error: --tree-size must be at least 1 (a number of entries, not a leaf index), not {treeSize}");
            return ExitCodes.Usage;
        }

        try
        {
            var host = NvHostFactory.CreateHost([]);
            await using var hostScope = (IAsyncDisposable)host;
            ExistingData.RequireAudit(host.Services);
            var proofs = host.Services.GetRequiredService<IAuditProofs>();
            var proof = await proofs.GetInclusionProofAsync(entryId, treeSize, cancellationToken);
            if (proof is null)
            {
                await Console.Error.WriteLineAsync($"nv: error: no audit entry has id {entryId} (an archived and pruned entry is proven from its archive: --archive FILE)");
                return ExitCodes.Failed;
            }

            Print(proof, checkpointOut);
            return ExitCodes.Ok;
        }
        catch (ArgumentOutOfRangeException ex) when (ex.ParamName == "treeSize")
        {
            // The store's check of --tree-size against the entry's leaf index and the chain's size.
            await Console.Error.WriteLineAsync($"nv: error: --tree-size {treeSize} must cover the entry and not exceed its chain's tree: "
                + ex.Message.ReplaceLineEndings(" "));
            return ExitCodes.Usage;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    private static async Task<int> RunFromArchiveAsync(Guid entryId, string file, string? publicKey, string? checkpointOut, CancellationToken cancellationToken)
    {
        try
        {
            var key = publicKey is null ? null : await File.ReadAllTextAsync(publicKey, cancellationToken);
            var proof = Nv.Audit.Archive.AuditArchives.Prove(file, entryId, key);
            if (proof is null)
            {
                await Console.Error.WriteLineAsync($"nv: error: the archive {file} holds no audit entry with id {entryId}");
                return ExitCodes.Failed;
            }

            Print(proof, checkpointOut);
            return ExitCodes.Ok;
        }
        catch (InvalidDataException ex)
        {
            await Console.Error.WriteLineAsync("nv: error: " + ex.Message.ReplaceLineEndings(" "));
            return ExitCodes.VerifyFailed;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    private static void Print(AuditInclusionProof proof, string? checkpointOut)
    {
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
    }
}
