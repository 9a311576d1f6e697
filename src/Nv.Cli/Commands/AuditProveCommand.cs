using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Audit.Merkle;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit prove ENTRY-ID [--tree-size N] [--checkpoint-out FILE]</c>: print an entry's Merkle inclusion proof.</summary>
internal static class AuditProveCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void AddTo(Command audit)
    {
        var entryId = new Argument<Guid>("entry-id") { Description = "The audit entry id." };
        var treeSize = new Option<long?>("--tree-size")
        {
            Description = "Prove against this tree size (default: the newest stored signed checkpoint, which must cover the entry).",
        };
        var checkpointOut = new Option<string?>("--checkpoint-out")
        {
            Description = "Also write the signed checkpoint to this file (replaced if it exists; its directory must exist). With "
                + "--tree-size N a stored checkpoint must have size N: else exit 2, and the file is left as it was.",
        };
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
        command.SetAction((parse, ct) =>
        {
            try
            {
                // Before anything is opened or proven: the file the checkpoint goes to, and the archive and key read.
                if (parse.GetValue(checkpointOut) is { } output)
                {
                    CommandInput.RequireOutputFile("--checkpoint-out", output);
                }

                if (parse.GetValue(archive) is not { } file)
                {
                    return RunAsync(parse.GetValue(entryId), parse.GetValue(treeSize), parse.GetValue(checkpointOut), ct);
                }

                CommandInput.RequireFile("--archive", file);
                var key = parse.GetValue(publicKey) is { } pem ? CommandInput.ReadPublicKeyPem("--public-key", pem) : null;
                return RunFromArchiveAsync(parse.GetValue(entryId), file, key, parse.GetValue(checkpointOut), ct);
            }
            catch (BadInputException ex)
            {
                return Task.FromResult(CommandErrors.Report(ex));
            }
        });
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
            // A read writes nothing to the store: no checkpoint signed (now or by the store's idle tick), no schema
            // migration, no SQLite checkpoint moving pages into the database file.
            var host = NvHostFactory.CreateHost([], AuditStore.ReadOnly, fileLog: false);
            await using var hostScope = (IAsyncDisposable)host;
            ExistingData.RequireAudit(host.Services);
            var proofs = host.Services.GetRequiredService<IAuditProofs>();
            var entry = await host.Services.GetRequiredService<IAuditSink>().GetAsync(entryId, cancellationToken);
            if (entry is null)
            {
                await Console.Error.WriteLineAsync($"nv: error: no audit entry has id {entryId} (an archived and pruned entry is proven from its archive: --archive FILE)");
                return ExitCodes.Failed;
            }

            // Without --tree-size: against the newest checkpoint stored, never one signed now.
            var size = treeSize ?? (await proofs.GetLatestCheckpointAsync(entry.Service, cancellationToken))?.Checkpoint.TreeSize ?? 0;
            if (treeSize is null && size < entry.Sequence)
            {
                await Console.Error.WriteLineAsync($"nv: error: no signed checkpoint of chain {entry.Service} covers entry {entryId} "
                    + $"(sequence {entry.Sequence}; " + (size == 0 ? "none is stored" : $"the newest covers {size} entries")
                    + $"): `nv audit checkpoint` signs one, or --tree-size N (N >= {entry.Sequence}) proves it against the tree at N, "
                    + "unsigned unless a checkpoint has that size");
                return ExitCodes.Failed;
            }

            var proof = await proofs.GetInclusionProofAsync(entryId, size, cancellationToken)
                ?? throw new InvalidOperationException($"The audit entry {entryId} was pruned while it was being proven.");
            var problems = await ProblemsAsync(proof, proofs, cancellationToken);
            if (checkpointOut is not null && proof.Checkpoint is null && problems.Count == 0)
            {
                // The file was asked for, so an unsigned proof is no answer: say so before anything is printed, and leave the
                // file as it is (bad input writes nothing; deleting an earlier run's file would be a write too). The exit
                // code, not the file's age, tells the caller nothing was written.
                var newest = await proofs.GetLatestCheckpointAsync(proof.Chain, cancellationToken);
                var stored = newest is null ? "none is stored" : $"the newest has size {newest.Checkpoint.TreeSize}";
                await Console.Error.WriteLineAsync($"nv: error: --checkpoint-out {checkpointOut}: no signed checkpoint of chain "
                    + $"{proof.Chain} has tree size {proof.TreeSize} ({stored}); nothing was written (an existing file is left as it "
                    + "was): omit --tree-size to prove against the newest checkpoint, or `nv audit checkpoint` signs one of the "
                    + "current tree");
                return ExitCodes.Usage;
            }

            // An integrity finding about the entry comes before the missing checkpoint's usage error (exit 5, not 2); no
            // file is written then either (Print writes one only for a signed checkpoint).
            return Print(proof, problems, checkpointOut);
        }
        catch (ArgumentOutOfRangeException ex) when (ex.ParamName == "treeSize")
        {
            // The store's check of the tree size against the entry's leaf index and the chain's size.
            await Console.Error.WriteLineAsync((treeSize is null
                    ? "nv: error: the newest signed checkpoint of the entry's chain covers more entries than its tree holds "
                        + "(entries were removed after it was signed; nv audit verify names them): "
                    : $"nv: error: --tree-size {treeSize} must cover the entry and not exceed its chain's tree: ")
                + ex.Message.ReplaceLineEndings(" "));
            return treeSize is null ? ExitCodes.VerifyFailed : ExitCodes.Usage;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    // Each failure is named for what failed: a checkpoint whose signature the store's public keys (the current one and the
    // earlier ones of Nv:Audit:PreviousPublicKeysPath) do not verify, and a stored entry that is not its leaf.
    private static async Task<List<string>> ProblemsAsync(AuditInclusionProof proof, IAuditProofs proofs,
        CancellationToken cancellationToken)
    {
        var problems = new List<string>(2);
        if (proof.Checkpoint is { } checkpoint)
        {
            // None when this process was given no key and the data directory holds none (the host signs with a key of its
            // environment): the checkpoint's key is then named as not given, not its signature as wrong.
            var trusted = await proofs.GetTrustedPublicKeysPemAsync(cancellationToken);
            using var verifier = string.IsNullOrWhiteSpace(trusted) ? null : CheckpointVerifier.FromPublicKeyPem(trusted);
            var result = verifier?.Verify(checkpoint);
            if (verifier is null || result is { Failure: CheckpointFailure.KeyMismatch })
            {
                // Not a forgery finding: the host may sign with a key this process was not given (as verify says it).
                problems.Add($"the checkpoint is signed by key '{checkpoint.Checkpoint.KeyId}', which no public key given or found here "
                    + "verifies, so its signature was not checked: set the host's NV_AUDIT_SIGNING_KEY or Nv:Audit:SigningKeyPath, or name "
                    + "its public key in Nv:Audit:PreviousPublicKeysPath" + (result is { Reason: { } why } ? " (" + why + ")" : ""));
            }
            else if (result is { IsValid: false } signature)
            {
                problems.Add("the checkpoint's signature does not verify with the store's public keys (the current key and "
                    + "Nv:Audit:PreviousPublicKeysPath): " + signature.Reason);
            }
        }

        if (!proof.Verify())
        {
            problems.Add(LeafMismatch(proof));
        }

        return problems;
    }

    private static async Task<int> RunFromArchiveAsync(Guid entryId, string file, string? publicKeyPem, string? checkpointOut, CancellationToken cancellationToken)
    {
        try
        {
            var proof = Nv.Audit.Archive.AuditArchives.Prove(file, entryId, publicKeyPem);
            if (proof is null)
            {
                await Console.Error.WriteLineAsync($"nv: error: the archive {file} holds no audit entry with id {entryId}");
                return ExitCodes.Failed;
            }

            // The archive's checkpoint signature was verified by Prove.
            return Print(proof, proof.Verify() ? [] : [LeafMismatch(proof)], checkpointOut);
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

    private static int Print(AuditInclusionProof proof, List<string> problems, string? checkpointOut)
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
            verified = problems.Count == 0,
            checkpoint = proof.Checkpoint?.ToText(),
        }, Indented));
        if (problems.Count == 0)
        {
            return ExitCodes.Ok;
        }

        Console.Error.WriteLine("nv: error: the proof does not verify: " + string.Join("; and ", problems));
        return ExitCodes.VerifyFailed;
    }

    private static string LeafMismatch(AuditInclusionProof proof) =>
        $"entry {proof.Entry.Id} as stored is not leaf {proof.LeafIndex} of chain {proof.Chain} in "
        + (proof.Checkpoint is null ? "the tree" : "the signed checkpoint")
        + $" at tree size {proof.TreeSize} (the entry's row was edited after it was appended, or the store's tree or checkpoint was)";
}
