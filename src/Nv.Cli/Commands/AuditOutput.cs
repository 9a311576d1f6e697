using System.Globalization;
using Nv.Audit;
using Nv.Host.Http;
using Spectre.Console;

namespace Nv.Cli.Commands;

/// <summary>Prints audit pages as a table (default) or JSON (<c>--json</c>, the HTTP API's page shape).</summary>
internal static class AuditOutput
{
    public static void Write(AuditPage page, bool json, bool withChanges)
    {
        if (json)
        {
            CliJson.Write(new AuditPageView(page.Entries.Select(AuditEntryView.From).ToList(), page.NextCursor));
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        var table = new Table().AddColumns("timestamp", "seq", "category", "operation", "entity", "user", "requestId", "lsn");
        if (withChanges)
        {
            table.AddColumn("changes");
        }

        foreach (var e in page.Entries)
        {
            var cells = new List<string>
            {
                e.Timestamp.UtcDateTime.ToString("O", inv),
                e.Sequence.ToString(inv),
                AuditCategoryNames.ToName(e.Category),
                Markup.Escape(e.Operation),
                Markup.Escape(e.DtoType is null ? e.EntityId : e.DtoType + "/" + e.EntityId),
                Markup.Escape(e.UserId ?? ""),
                Markup.Escape(e.RequestId),
                e.Lsn?.Value.ToString(inv) ?? "",
            };
            if (withChanges)
            {
                cells.Add(Markup.Escape(SealedNote(e) ?? string.Join("\n", e.Changes.Select(c => $"{c.Path}: {c.Before?.GetRawText() ?? "-"} -> {c.After?.GetRawText() ?? "-"}"))));
            }

            table.AddRow(cells.ToArray());
        }

        AnsiConsole.Write(table);
        if (!withChanges && page.Entries.Any(static e => SealedNote(e) is not null))
        {
            Console.WriteLine("sealed entries (encryption at rest): " + string.Join("; ", page.Entries.Where(static e => SealedNote(e) is not null)
                .Select(static e => string.Create(CultureInfo.InvariantCulture, $"#{e.Sequence} {SealedNote(e)}"))));
        }

        Console.WriteLine(string.Create(inv, $"{page.Entries.Count} entries") + (page.NextCursor is null ? "" : "; next page: --cursor " + page.NextCursor));
    }

    // Encryption at rest: what a sealed entry whose data is not shown is (erased, or ciphertext for lack of the master key).
    private static string? SealedNote(AuditEntry e) => e.KeyId is not { } keyId || e.Before is not null || e.After is not null || e.Changes.Count > 0
        ? null
        : e.Erased
            ? $"erased (key {keyId:D} destroyed)"
            : string.Create(CultureInfo.InvariantCulture, $"ciphertext, {e.Sealed?.Length ?? 0} bytes under key {keyId:D} (set NV_MASTER_KEY_FILE to read it)");
}
