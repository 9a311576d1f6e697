using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit prune [--before TIME]</c>: what <c>Nv:Audit:Retention</c> does in the host, now: prune the recorded
/// archives' ranges whose entries are all older than TIME (default: now minus the retention), each after verifying its
/// archive file again.</summary>
internal static class AuditPruneCommand
{
    public static void AddTo(Command audit)
    {
        var before = new Option<string?>("--before") { Description = "Prune archived entries older than this time (default: now - Nv:Audit:Retention)." };
        var command = new Command("prune", "Delete from the store the entries of verified archives older than --before (or the retention window); proofs keep working.")
        {
            before,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(before), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(string? before, CancellationToken cancellationToken)
    {
        DateTimeOffset? cutoff = null;
        if (before is not null)
        {
            if (!AuditQuery.TryParseTime(before, out var time))
            {
                Console.Error.WriteLine($"nv: error: --before '{before}' is not an ISO-8601 time (e.g. 2026-01-01T00:00:00Z).");
                return ExitCodes.Usage;
            }

            cutoff = time;
        }

        TimeSpan? showAfter;
        try
        {
            showAfter = ProgressSetting.ShowAfter(AuditProgressLine.DefaultDelay);
        }
        catch (BadInputException ex)
        {
            return CommandErrors.Report(ex);
        }

        try
        {
            var host = NvHostFactory.CreateHost([], AuditStore.HostKeyOnly); // signs only with the host's key
            await using var hostScope = (IAsyncDisposable)host;
            ExistingData.RequireAudit(host.Services);
            var retention = host.Services.GetRequiredService<IOptions<AuditOptions>>().Value.Retention;
            if ((cutoff ??= DateTimeOffset.UtcNow - retention) is not { } olderThan)
            {
                Console.Error.WriteLine("nv: error: give --before, or set Nv:Audit:Retention (Nv__Audit__Retention).");
                return ExitCodes.Usage;
            }

            var progress = new AuditProgressLine("audit prune", showAfter);
            var pruned = await host.Services.GetRequiredService<IAuditRetention>().PruneAsync(olderThan, progress, cancellationToken);
            progress.Done();
            foreach (var range in pruned)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"chain '{range.Chain}': entries {range.FromSequence}..{range.ThroughSequence} pruned (archive {range.ArchiveFile})"));
            }

            Console.Error.WriteLine($"audit prune: {pruned.Count} range(s) pruned");
            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
