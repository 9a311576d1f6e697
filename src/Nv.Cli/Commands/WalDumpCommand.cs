using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Nv.Cli.Hosting;
using Nv.Wal;
using Spectre.Console;

namespace Nv.Cli.Commands;

/// <summary><c>nv wal dump [--from LSN] [--limit N] [--json]</c>: print records; <c>--json</c> prints one JSON object per line (JSON Lines).</summary>
internal static class WalDumpCommand
{
    public static Command Create()
    {
        var from = new Option<long>("--from") { Description = "First LSN to print (default: the first record held)." };
        var limit = new Option<int>("--limit") { Description = "Most records to print.", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per record per line (with payloads)." };
        var command = new Command("dump", "Print WAL records in LSN order.") { from, limit, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(from), parse.GetValue(limit), parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(long from, int limit, bool json, CancellationToken cancellationToken)
    {
        if (from < 0 || limit < 1)
        {
            Console.Error.WriteLine("nv: error: --from must be >= 0 and --limit >= 1");
            return ExitCodes.Usage;
        }

        try
        {
            var host = NvHostFactory.CreateHost([]);
            await using var scope = (IAsyncDisposable)host;
            var wal = host.Services.GetRequiredService<IWriteAheadLog>();
            var start = new Lsn(Math.Max(from, wal.GetStatistics().FirstLsn.Value));
            var table = json ? null : new Table().AddColumns("lsn", "timestamp", "op", "dtoType", "entityId", "requestId", "userId", "bytes");
            var count = 0;
            await foreach (var record in wal.ReadAsync(start, cancellationToken))
            {
                if (count++ == limit)
                {
                    break;
                }

                if (table is null)
                {
                    CliJson.Write(new
                    {
                        lsn = record.Lsn.Value,
                        id = record.Id,
                        timestamp = record.Timestamp,
                        service = record.Service,
                        version = record.Version,
                        operation = Nv.Audit.AuditEntryFactory.OperationName(record.Operation),
                        dtoType = record.DtoType,
                        entityId = record.EntityId,
                        requestId = record.RequestId,
                        userId = record.UserId,
                        reason = record.Reason,
                        metadata = record.Metadata,
                        expectedLsn = record.ExpectedLsn?.Value,
                        replayKey = record.ReplayKey,
                        payload = record.Payload,
                    });
                    continue;
                }

                var inv = CultureInfo.InvariantCulture;
                table.AddRow(
                    record.Lsn.Value.ToString(inv),
                    record.Timestamp.UtcDateTime.ToString("O", inv),
                    Nv.Audit.AuditEntryFactory.OperationName(record.Operation),
                    Markup.Escape(record.DtoType),
                    Markup.Escape(record.EntityId),
                    Markup.Escape(record.RequestId),
                    Markup.Escape(record.UserId ?? ""),
                    record.Payload.GetRawText().Length.ToString(inv));
            }

            if (table is not null)
            {
                AnsiConsole.Write(table);
            }

            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
