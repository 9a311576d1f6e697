using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Nv.Cli.Hosting;
using Nv.Wal;
using Spectre.Console;

namespace Nv.Cli.Commands;

/// <summary><c>nv wal dump [--from LSN] [--limit N] [--json]</c>: print records; <c>--json</c> prints one JSON object per line (JSON Lines).</summary>
/// <remarks>A batch record shows as operation <c>batch</c> with its item count; <c>--json</c> adds its <c>items</c>.</remarks>
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
            var host = NvHostFactory.CreateHost([], NvHostFactory.ReadOnlyStores, fileLog: false);
            await using var scope = (IAsyncDisposable)host;
            ExistingData.RequireWal(host.Services);
            var wal = host.Services.GetRequiredService<IWriteAheadLog>();
            var start = new Lsn(Math.Max(from, wal.GetStatistics().FirstLsn.Value));
            var table = json ? null : new Table().AddColumns("lsn", "timestamp", "op", "dtoType", "entityId", "requestId", "userId", "payload");
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
                        operation = OperationName(record),
                        dtoType = record.DtoType,
                        entityId = record.EntityId,
                        requestId = record.RequestId,
                        userId = record.UserId,
                        reason = record.Reason,
                        metadata = record.Metadata,
                        expectedLsn = record.ExpectedLsn?.Value,
                        replayKey = record.ReplayKey,
                        payload = PayloadOf(record.Payload),
                        // A sealed audit event's plain copy of its category and operation (null otherwise).
                        eventCategory = record.EventCategory,
                        eventOperation = record.EventOperation,
                        items = record.Items?.Select(static i => new
                        {
                            id = i.Id,
                            operation = Nv.Audit.AuditEntryFactory.OperationName(i.Operation),
                            version = i.Version,
                            dtoType = i.DtoType,
                            entityId = i.EntityId,
                            expectedLsn = i.ExpectedLsn?.Value,
                            replayKey = i.ReplayKey,
                            payload = PayloadOf(i.Payload),
                            sealedPayload = Sealed(i.PayloadKeyId, i.Subject, i.SealedPayload, i.PayloadUnavailable),
                        }),
                        sealedPayload = Sealed(record.PayloadKeyId, record.Subject, record.SealedPayload, record.PayloadUnavailable),
                    });
                    continue;
                }

                var inv = CultureInfo.InvariantCulture;
                table.AddRow(
                    record.Lsn.Value.ToString(inv),
                    record.Timestamp.UtcDateTime.ToString("O", inv),
                    OperationName(record),
                    Markup.Escape(record.Items is { } items ? string.Join(',', items.Select(static i => i.DtoType).Distinct()) : record.DtoType),
                    Markup.Escape(record.Items is { } batch ? string.Create(inv, $"({batch.Count} items)") : record.EntityId),
                    Markup.Escape(record.RequestId),
                    Markup.Escape(record.UserId ?? ""),
                    Markup.Escape(PayloadCell(record))); // plain text: "[encrypted]" is no markup tag
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

    // A batch envelope has no payload of its own (undefined): shown as null.
    private static System.Text.Json.JsonElement? PayloadOf(System.Text.Json.JsonElement payload) =>
        payload.ValueKind == System.Text.Json.JsonValueKind.Undefined ? null : payload;

    // A batch record is "batch"; its items carry their own operations (--json lists them).
    private static string OperationName(WalRecord record) =>
        record.Operation == WalOperation.Batch ? "batch" : Nv.Audit.AuditEntryFactory.OperationName(record.Operation);

    // Encryption at rest: a sealed payload is shown as what it is on disk (its key id, subject and ciphertext), and as
    // plain JSON only when the master key is configured and the key still exists (an erased subject's never is).
    private static object? Sealed(Guid? payloadKeyId, string? subject, ReadOnlyMemory<byte> sealedPayload, bool unavailable) => payloadKeyId is not { } keyId
        ? null
        : new
        {
            keyId,
            subject,
            ciphertext = Convert.ToBase64String(sealedPayload.Span),
            state = unavailable ? "encrypted: key not available (erased, or no master key)" : "decrypted",
        };

    private static string PayloadCell(WalRecord record)
    {
        var inv = CultureInfo.InvariantCulture;
        if (record.Items is { } items)
        {
            var sealedItems = items.Count(static i => i.PayloadKeyId is not null);
            var plainBytes = items.Sum(static i => i.Payload.ValueKind == System.Text.Json.JsonValueKind.Undefined ? 0 : i.Payload.GetRawText().Length);
            return sealedItems == 0 ? string.Create(inv, $"{plainBytes} B") : string.Create(inv, $"{items.Count} items, {sealedItems} sealed");
        }

        var plain = record.Payload.ValueKind == System.Text.Json.JsonValueKind.Undefined ? null : record.Payload.GetRawText();
        if (record.PayloadKeyId is { } keyId)
        {
            var header = record.EventOperation is { } operation ? $"{record.EventCategory}/{operation}, " : "";
            return record.PayloadUnavailable
                ? string.Create(inv, $"{header}[encrypted] {record.SealedPayload.Length} B, key {keyId:D}")
                : string.Create(inv, $"{plain!.Length} B (decrypted, key {keyId:D})");
        }

        return plain is null ? (record.Operation == WalOperation.Erase ? "erase " + record.Subject : "-") : string.Create(inv, $"{plain.Length} B");
    }
}
