using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit archive --before TIME --out DIR [--json]</c>: write, for each chain, its next range of entries older
/// than TIME to a self-contained, signed archive file in DIR, verify it from disk and record it in the store.</summary>
/// <remarks>May run next to a live host (the store serialises writers). Exit 0 with the files written (none when nothing is
/// old enough), 2 for a bad time or directory, 5 when an entry to archive does not verify (nothing written for its chain).</remarks>
internal static class AuditArchiveCommand
{
    public static void AddTo(Command audit)
    {
        var before = new Option<string>("--before") { Description = "Archive entries older than this time (ISO-8601; no offset means UTC).", Required = true };
        var output = new Option<string>("--out")
        {
            Description = "The directory the archive files go to (created if missing; checked writable before anything is archived).",
            Required = true,
        };
        var json = new Option<bool>("--json") { Description = "Print each archive as one JSON object per line." };
        var command = new Command("archive",
            "Export each chain's next range of entries older than --before to a compressed, signed, self-contained archive file, verified and recorded.")
        {
            before,
            output,
            json,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(before)!, parse.GetValue(output)!, parse.GetValue(json), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(string before, string output, bool json, CancellationToken cancellationToken)
    {
        if (!AuditQuery.TryParseTime(before, out var time))
        {
            Console.Error.WriteLine($"nv: error: --before '{before}' is not an ISO-8601 time (e.g. 2026-01-01T00:00:00Z).");
            return ExitCodes.Usage;
        }

        if (output.Length == 0 || output.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            Console.Error.WriteLine($"nv: error: --out '{output}' is not a directory.");
            return ExitCodes.Usage;
        }

        OutputDirectory directory;
        TimeSpan? showAfter;
        try
        {
            // Before the store is opened, a durable point written or a checkpoint signed: the directory exists (or is
            // created) and takes files; a file at or above it, or one that cannot be created or written, is exit 2.
            directory = OutputDirectory.Prepare("--out", output);
            showAfter = ProgressSetting.ShowAfter(AuditProgressLine.DefaultDelay);
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
            var retention = host.Services.GetRequiredService<IAuditRetention>();
            Console.Error.WriteLine($"audit archive: entries before {time:O} to {directory.Path}...");
            var progress = new AuditProgressLine("audit archive", showAfter);
            var archives = await retention.ArchiveAsync(time, directory.Path, progress, cancellationToken);
            progress.Done();
            foreach (var archive in archives)
            {
                if (json)
                {
                    CliJson.Write(new
                    {
                        archive.Chain,
                        archive.FirstSequence,
                        archive.LastSequence,
                        archive.LastHash,
                        archive.LastTimestamp,
                        file = archive.FilePath,
                        sha256 = archive.FileSha256,
                        root = archive.Checkpoint.Checkpoint.RootHash.ToHex(),
                    });
                }
                else
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{archive.FilePath}: chain '{archive.Chain}' entries {archive.FirstSequence}..{archive.LastSequence}, sha256 {archive.FileSha256}"));
                }
            }

            Console.Error.WriteLine($"audit archive: {archives.Count} archive(s) written, verified and recorded");
            return ExitCodes.Ok;
        }
        catch (AuditChainBrokenException ex)
        {
            Console.Error.WriteLine("nv: error: " + ex.Message.ReplaceLineEndings(" "));
            return ExitCodes.VerifyFailed;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
