using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Audit.Merkle;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit keys [--out FILE] [--json]</c>: the checkpoint verification keys this process has (the host's key as it
/// finds it, and <c>Nv:Audit:PreviousPublicKeysPath</c>), each with its key id and SHA-256 fingerprint, and which key signed
/// each chain's newest checkpoint; <c>--out</c> writes their public halves for <c>nv audit verify --public-key</c>.</summary>
/// <remarks>Run where the host's key is set to hand its public half to an operator or auditor whose shell does not have it.
/// Reads only: the audit store is opened read-only, nothing is written but <c>--out</c> (a new file). The store itself lists
/// no key to trust: a key read from the store being verified would vouch for whatever its writer signed (README, "Signing
/// keys"); the fingerprint is what to compare with the host's, out of band.</remarks>
internal static class AuditKeysCommand
{
    public static void AddTo(Command audit)
    {
        var output = new Option<string?>("--out") { Description = "Write the public keys (PEM) to this new file, for nv audit verify --public-key." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("keys",
            "Show the audit checkpoint keys this process has (key id, SHA-256 fingerprint, where found) and which key signed each chain's newest checkpoint.")
        {
            output,
            json,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(output), parse.GetValue(json), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(string? output, bool json, CancellationToken cancellationToken)
    {
        try
        {
            if (output is not null)
            {
                RequireNewFile("--out", output);
            }

            var host = NvHostFactory.CreateHost([], AuditStore.ReadOnly, fileLog: false);
            await using var hostScope = (IAsyncDisposable)host;
            ExistingData.RequireAudit(host.Services);
            var options = host.Services.GetRequiredService<IOptions<AuditOptions>>().Value;
            var previous = options.PreviousPublicKeysPath is { } path
                ? AuditPublicKey.ParseAll(CommandInput.ReadPublicKeyPem("Nv:Audit:PreviousPublicKeysPath", path), "Nv:Audit:PreviousPublicKeysPath " + path)
                : [];
            var sink = host.Services.GetRequiredService<IAuditSink>();
            await sink.InitializeAsync(cancellationToken); // a store it cannot open fails here, not as "no key"
            var proofs = host.Services.GetRequiredService<IAuditProofs>();
            var keys = await CurrentKeyAsync(proofs, options, cancellationToken);
            keys.AddRange(previous.Where(p => keys.TrueForAll(k => k.KeyId != p.KeyId)));
            var newest = await proofs.GetLatestCheckpointsAsync(cancellationToken);
            if (keys.Count == 0)
            {
                var named = newest.Select(c => c.Checkpoint.KeyId).Distinct(StringComparer.Ordinal).ToList();
                throw new BadInputException("no audit signing key here: NV_AUDIT_SIGNING_KEY and Nv:Audit:SigningKeyPath are not set (or not readable), "
                    + $"{Path.GetFullPath(options.DataDirectory)} holds no audit-signing-key.pem or .pub.pem and Nv:Audit:PreviousPublicKeysPath is not set; "
                    + "run nv audit keys where the host's key is set"
                    + (named.Count > 0 ? $" (the newest checkpoints are signed by key {string.Join(", ", named)})" : string.Empty));
            }

            if (output is not null)
            {
                using var file = new FileStream(output, FileMode.CreateNew, FileAccess.Write);
                using var writer = new StreamWriter(file);
                keys.ForEach(k => writer.Write(k.PublicKey));
            }

            Print(keys, newest, output, json);
            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    // The host's key as this read-only opening finds it (NV_AUDIT_SIGNING_KEY, Nv:Audit:SigningKeyPath, else the data
    // directory's key file), or none.
    private static async Task<List<AuditPublicKey>> CurrentKeyAsync(IAuditProofs proofs, AuditOptions options, CancellationToken cancellationToken)
    {
        string pem;
        try
        {
            pem = await proofs.GetPublicKeyPemAsync(cancellationToken);
        }
        catch (InvalidOperationException)
        {
            return []; // this read-only opening knows no signing key
        }

        var source = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("NV_AUDIT_SIGNING_KEY")) ? "NV_AUDIT_SIGNING_KEY"
            : options.SigningKeyPath is { } configured ? "Nv:Audit:SigningKeyPath " + Path.GetFullPath(configured)
            : "the data directory's audit-signing-key.pem or .pub.pem";
        return AuditPublicKey.ParseAll(pem, source);
    }

    private static void Print(List<AuditPublicKey> keys, IReadOnlyList<SignedCheckpoint> newest, string? output, bool json)
    {
        bool Has(string keyId) => keys.Exists(k => k.KeyId == keyId);
        if (json)
        {
            CliJson.Write(new
            {
                keys = keys.Select(k => new { keyId = k.KeyId, fingerprint = k.Fingerprint, source = k.Source, publicKey = k.PublicKey }),
                chains = newest.Select(c => new
                {
                    chain = c.Checkpoint.ChainId,
                    treeSize = c.Checkpoint.TreeSize,
                    timestamp = c.Checkpoint.Timestamp,
                    keyId = c.Checkpoint.KeyId,
                    keyHere = Has(c.Checkpoint.KeyId),
                }),
                written = output,
            });
            return;
        }

        foreach (var key in keys)
        {
            Console.WriteLine($"key {key.KeyId} {key.Fingerprint} ({key.Source})");
        }

        foreach (var checkpoint in newest.Select(c => c.Checkpoint))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"chain '{checkpoint.ChainId}': newest checkpoint (size {checkpoint.TreeSize}, {checkpoint.Timestamp:O}) signed by key {checkpoint.KeyId}: ")
                + (Has(checkpoint.KeyId) ? "listed above" : "not a key of this process (run nv audit keys where that key is set)"));
        }

        if (output is not null)
        {
            Console.WriteLine($"wrote {keys.Count} public key(s) to {output}: give it to nv audit verify --public-key after comparing the fingerprints with the host's");
        }
    }

    private static void RequireNewFile(string option, string path)
    {
        if (Directory.Exists(path))
        {
            throw new BadInputException($"{option} {path} is a directory, not a file");
        }

        if (File.Exists(path))
        {
            throw new BadInputException($"{option} {path} exists; nv audit keys never overwrites a file");
        }

        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } parent && !Directory.Exists(parent))
        {
            throw new BadInputException($"{option} {path} cannot be created: {parent} is not a directory");
        }
    }
}
