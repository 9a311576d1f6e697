using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Nv.DbWriter;
using Nv.Cli.Hosting;
using Nv.Host.Http;
using Nv.Wal;
using Spectre.Console;

namespace Nv.Cli.Commands;

/// <summary><c>nv wal stat [--json]</c>: segments, size, LSN range, watermarks, unresolved records, what recovery did.</summary>
internal static class WalStatCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("stat", "Show the WAL's segments, size, LSN range, watermarks and unresolved record count.") { json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(bool json, CancellationToken cancellationToken)
    {
        try
        {
            // Read-only, WAL and database alike: stat creates and changes nothing. The unresolved count needs the database: on a
            // directory without one (NV_DATA_DIR mistyped beside a correct NV_WAL_DIR) stat refuses rather than count every
            // record as unresolved against a database it would have created empty.
            var host = NvHostFactory.CreateHost([], NvHostFactory.ReadOnlyStores, fileLog: false);
            await using var scope = (IAsyncDisposable)host;
            ExistingData.RequireWal(host.Services);
            ExistingData.RequireDatabase(host.Services, " (wal stat counts unresolved records against it; wal dump and wal verify read the WAL alone)");
            var wal = host.Services.GetRequiredService<IWriteAheadLog>(); // first: its directory lock keeps every writer out
            var db = host.Services.GetRequiredService<IDbWriter>();
            Lsn? resolved = null;
            try
            {
                await db.InitializeAsync(cancellationToken);
                resolved = await db.GetResolvedThroughAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is DbWriterException or StoreSchemaException)
            {
                Console.Error.WriteLine("nv: warning: the database is unavailable, the unresolved count is unknown: " + ex.Message);
            }

            var view = WalStatusView.From(wal.GetStatistics(), resolved);
            var recovery = wal.Recovery;
            if (json)
            {
                CliJson.Write(new { wal = view, recovery = new { recovery.RecordCount, recovery.TailBytesCut, recovery.BrokenTailPath, recovery.RecordsSkipped, recovery.Detail } });
                return ExitCodes.Ok;
            }

            var inv = CultureInfo.InvariantCulture;
            var table = new Table().AddColumn("field").AddColumn("value");
            table.AddRow("state", view.State);
            table.AddRow("segments", view.Segments.ToString(inv));
            table.AddRow("size", string.Create(inv, $"{view.SizeBytes} bytes"));
            table.AddRow("lsn range", string.Create(inv, $"{view.FirstLsn}..{view.LastLsn}"));
            table.AddRow("durable lsn", view.DurableLsn.ToString(inv));
            table.AddRow("applied watermark", view.AppliedLsn.ToString(inv));
            table.AddRow("audited watermark", view.AuditedLsn.ToString(inv));
            table.AddRow("resolved through", view.ResolvedThroughLsn?.ToString(inv) ?? "unknown");
            table.AddRow("unresolved records", view.Unresolved?.ToString(inv) ?? "unknown");
            table.AddRow("recovery", Markup.Escape(recovery.Detail ?? (recovery.TailBytesCut > 0 ? $"cut {recovery.TailBytesCut} tail bytes" : "clean")));
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
