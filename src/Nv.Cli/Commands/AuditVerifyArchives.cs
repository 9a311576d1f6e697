using System.Globalization;
using Nv.Audit.Archive;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit verify --archive FILE...</c>: each archive verified offline (links, hashes, Merkle root, signature),
/// then the ranges of each chain checked to follow one another (an archive's first entry links to the previous one's last).</summary>
/// <remarks>Exit 0 when every file verifies, 5 naming the first file and problem, 2 when a file or key cannot be read.
/// Without <c>--public-key</c> the signature is checked with the key each file carries, and the output says so.</remarks>
internal static class AuditVerifyArchives
{
    // keyPem: the --public-key file's text, already checked by the command (CommandInput), or null.
    public static int Run(string[] files, string? keyPem, bool json, AuditProgressLine progress, CancellationToken cancellationToken)
    {
        var results = new List<AuditArchiveVerification>();
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            AuditArchiveVerification result;
            try
            {
                result = AuditArchives.Verify(file, keyPem, progress, cancellationToken);
            }
            catch (ArgumentException ex)
            {
                progress.Done();
                Console.Error.WriteLine("nv: error: " + ex.Message.ReplaceLineEndings(" "));
                return ExitCodes.Usage;
            }

            progress.Done();
            results.Add(result);
            Report(result, json);
            if (!result.IsValid)
            {
                return ExitCodes.VerifyFailed;
            }
        }

        // Consecutive ranges of a chain must link: same chain, next sequence, previous hash = the last hash before it.
        foreach (var chain in results.GroupBy(static r => r.Chain, StringComparer.Ordinal))
        {
            AuditArchiveVerification? previous = null;
            foreach (var archive in chain.OrderBy(static r => r.FirstSequence))
            {
                if (previous is not null && archive.FirstSequence == previous.LastSequence + 1 && archive.PrevHash != previous.LastHash)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"audit verify: BROKEN: {archive.File}: its first entry {archive.FirstSequence} does not link to entry {previous.LastSequence} of {previous.File}"));
                    return ExitCodes.VerifyFailed;
                }

                previous = archive;
            }
        }

        return ExitCodes.Ok;
    }

    private static void Report(AuditArchiveVerification result, bool json)
    {
        if (json)
        {
            CliJson.Write(new
            {
                result.IsValid,
                result.File,
                result.Chain,
                result.FirstSequence,
                result.LastSequence,
                result.EntriesChecked,
                result.LastHash,
                root = result.Checkpoint?.Checkpoint.RootHash.ToHex(),
                keyId = result.Checkpoint?.Checkpoint.KeyId,
                result.KeyPinned,
                result.BrokenSequence,
                result.Reason,
            });
        }
        else if (result.IsValid)
        {
            var key = result.KeyPinned
                ? "with the given key"
                : $"with the key the file carries ({result.Checkpoint?.Checkpoint.KeyId}; pass --public-key to pin it)";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"audit verify: OK: {result.File}: chain '{result.Chain}' entries {result.FirstSequence}..{result.LastSequence} ({result.EntriesChecked} entries), Merkle root and checkpoint signature verified {key}"));
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"audit verify: BROKEN: {result.File}: {(result.BrokenSequence is { } s ? $"entry sequence {s}: " : "")}{result.Reason}"));
        }
    }
}
