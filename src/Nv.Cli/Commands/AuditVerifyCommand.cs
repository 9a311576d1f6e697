using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Audit.Merkle;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit verify [--from-checkpoint FILE] [--public-key FILE] [--json]</c>: recompute every hash chain, the
/// Merkle roots of the stored checkpoints and their signatures; exit 5 naming the first problem (chain, position, why).
/// <c>nv audit verify --archive FILE [--archive FILE2 ...] [--public-key FILE]</c> verifies archive files offline instead
/// (no store is opened): each on its own, and consecutive archives of a chain link to each other.</summary>
/// <remarks>With <c>--from-checkpoint</c>, a checkpoint kept outside the store must still be contained in the trail
/// unchanged: that catches deletion of the newest entries, which a hash chain alone cannot. What passed but could not be
/// fully checked (archive rows recorded before the archive ledger) is printed as WARNING lines; the exit code stays 0.</remarks>
internal static class AuditVerifyCommand
{
    public static Command Create()
    {
        var fromCheckpoint = new Option<string?>("--from-checkpoint") { Description = "A checkpoint file kept outside the store; the trail must still contain it unchanged." };
        var publicKey = new Option<string?>("--public-key") { Description = "Public key PEM that checkpoints must verify with (default: the store's own key)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var archives = new Option<string[]>("--archive")
        {
            Description = "Verify these archive files offline instead of the store (repeatable; consecutive ranges must link).",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("verify", "Verify every hash chain, the Merkle roots of the stored checkpoints and their signatures; exit 5 naming the first problem.")
        {
            fromCheckpoint,
            publicKey,
            json,
            archives,
        };
        command.SetAction((parse, ct) =>
        {
            // Every file is checked before anything is opened: a missing, unreadable or malformed one is exit 2, one line.
            try
            {
                var showAfter = ProgressSetting.ShowAfter(AuditProgressLine.DefaultDelay);
                if (parse.GetValue(archives) is { Length: > 0 } files)
                {
                    foreach (var file in files)
                    {
                        CommandInput.RequireFile("--archive", file);
                    }

                    var keyPem = parse.GetValue(publicKey) is { } key ? CommandInput.ReadPublicKeyPem("--public-key", key) : null;
                    var progress = new AuditProgressLine("audit verify", showAfter);
                    return Task.FromResult(AuditVerifyArchives.Run(files, keyPem, parse.GetValue(json), progress, ct));
                }

                var options = new AuditVerifyOptions
                {
                    FromCheckpoint = parse.GetValue(fromCheckpoint) is { } checkpoint ? CommandInput.ReadCheckpoint("--from-checkpoint", checkpoint) : null,
                    PublicKeyPem = parse.GetValue(publicKey) is { } pem ? CommandInput.ReadPublicKeyPem("--public-key", pem) : null,
                };
                return RunAsync(options, parse.GetValue(json), showAfter, ct);
            }
            catch (BadInputException ex)
            {
                return Task.FromResult(CommandErrors.Report(ex));
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(AuditVerifyOptions options, bool json, TimeSpan? showAfter, CancellationToken cancellationToken)
    {
        try
        {
            // Only reads: no schema write, no signing key generated, no checkpoint signed (README, CLI).
            var host = NvHostFactory.CreateHost([], AuditStore.ReadOnly, fileLog: false);
            await using var hostScope = (IAsyncDisposable)host;
            ExistingData.RequireAudit(host.Services);
            // Opened before the progress line: a store it cannot read (another schema version) is one line, exit 2.
            await host.Services.GetRequiredService<IAuditSink>().InitializeAsync(cancellationToken);
            Console.Error.WriteLine("audit verify: checking the hash chains, Merkle roots and checkpoints...");
            // Progress (stderr only) once the verification has run for a second: stdout stays the summary alone.
            var progress = new AuditProgressLine("audit verify", showAfter);
            var result = await host.Services.GetRequiredService<IAuditProofs>().VerifyAsync(options, progress, cancellationToken);
            progress.Done();
            if (json)
            {
                CliJson.Write(result);
            }
            else if (result.IsValid)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"audit verify: OK: {result.EntriesChecked} entries, {result.CheckpointsChecked} checkpoints, every chain intact"));
                foreach (var warning in result.Warnings)
                {
                    Console.WriteLine("audit verify: WARNING: " + warning);
                }
            }
            else
            {
                var checkpoint = result.BrokenCheckpointSize is { } size ? string.Create(CultureInfo.InvariantCulture, $", checkpoint size {size}") : string.Empty;
                // A checkpoint signed by a key this process was not given could not be checked: not verified, not found broken.
                var verdict = result.UnknownKeyId is null ? "BROKEN" : "NOT VERIFIED";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"audit verify: {verdict}: chain '{result.BrokenChain}', entry sequence {result.BrokenSequence?.ToString(CultureInfo.InvariantCulture) ?? "-"}{checkpoint}: {result.Reason} ({result.EntriesChecked} entries checked)"));
            }

            return result.IsValid ? ExitCodes.Ok : ExitCodes.VerifyFailed;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
