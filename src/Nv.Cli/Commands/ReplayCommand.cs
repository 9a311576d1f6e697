using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Cli.Hosting;
using Nv.Host.Replay;

namespace Nv.Cli.Commands;

/// <summary><c>nv replay [--dry-run] [--json]</c>: recover the WAL, apply every unresolved record, backfill audit, exit.</summary>
internal static class ReplayCommand
{
    public static void AddTo(RootCommand root)
    {
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "Report what would be replayed; write nothing (opens the WAL and both stores read-only, and needs all three to exist).",
        };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object." };
        var command = new Command("replay", "Apply every WAL record the database does not reflect yet, backfill audit entries, and exit.")
        {
            dryRun,
            json,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(dryRun), parse.GetValue(json), ct));
        root.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(bool dryRun, bool json, CancellationToken cancellationToken)
    {
        try
        {
            var showAfter = ProgressSetting.ShowAfter(TimeSpan.Zero); // before anything is opened: a bad value is exit 2
            // A dry run opens everything read-only and writes no file log: it creates and changes nothing. It counts against
            // stores that exist; a replay would create a missing one and apply every record to it, which a dry run reports as
            // a refusal (exit 2) rather than count against a store it made up, so a mistyped NV_DATA_DIR shows at once.
            // A replay signs audit checkpoints only with the host's key; in a shell without it, it runs and signs none.
            var host = dryRun
                ? NvHostFactory.CreateHost([], NvHostFactory.ReadOnlyStores, fileLog: false)
                : NvHostFactory.CreateHost([], AuditStore.HostKeyIfAvailable);
            await using var hostScope = (IAsyncDisposable)host;
            if (dryRun)
            {
                ExistingData.RequireWal(host.Services);
                ExistingData.RequireDatabase(host.Services, " (nv replay without --dry-run would create it and apply every WAL record to it)");
                ExistingData.RequireAudit(host.Services, " (nv replay without --dry-run would create it and audit every WAL record in it)");
            }
            else
            {
                ExistingData.RequireAny(host.Services);
            }

            var replay = host.Services.GetRequiredService<NvReplay>();
            var progress = new ProgressLine("replay", showAfter);
            var summary = await replay.RunAsync(dryRun, progress.Report, cancellationToken);
            progress.Done();
            Print(summary, json);
            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    private static void Print(ReplaySummary summary, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                recordsRead = summary.RecordsRead,
                replayed = summary.Replayed,
                alreadyApplied = summary.AlreadyApplied,
                rejected = summary.Rejected,
                auditBackfilled = summary.AuditBackfilled,
                dryRun = summary.DryRun,
                durationMs = (long)summary.Duration.TotalMilliseconds,
            }));
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"{(summary.DryRun ? "would replay" : "replayed")}: {summary.Replayed} records"));
        Console.WriteLine(string.Create(inv, $"already applied: {summary.AlreadyApplied}"));
        Console.WriteLine(string.Create(inv, $"rejected: {summary.Rejected}"));
        Console.WriteLine(string.Create(inv, $"audit backfilled: {summary.AuditBackfilled}"));
        Console.WriteLine(string.Create(inv, $"duration: {summary.Duration.TotalMilliseconds:F0} ms"));
    }
}
