using System.CommandLine;
using Nv.Audit;
using Nv.Host.Http;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit query [filters] [--limit N] [--cursor C] [--json]</c>: search the audit trail, newest first.</summary>
internal static class AuditQueryCommand
{
    public static Command Create()
    {
        var requestId = new Option<string?>("--request-id") { Description = "Entries of this request." };
        var entity = new Option<string?>("--entity") { Description = "Entries of one entity: dtoType/entityId." };
        var user = new Option<string?>("--user") { Description = "Entries by this user." };
        var service = new Option<string?>("--service") { Description = "Entries of this service." };
        var category = new Option<string?>("--category")
        {
            Description = "entity-mutation, authentication, permission, system-events, service-start-stop or environment-change.",
        };
        var operation = new Option<string?>("--operation") { Description = "create, update, delete, ..." };
        var from = new Option<string?>("--from") { Description = "At or after this ISO-8601 time." };
        var to = new Option<string?>("--to") { Description = "Before this ISO-8601 time." };
        var limit = new Option<int>("--limit") { Description = "Page size (1-1000).", DefaultValueFactory = _ => 50 };
        var cursor = new Option<string?>("--cursor") { Description = "Continue after a previous page." };
        var json = new Option<bool>("--json") { Description = "Print the page as JSON." };
        var command = new Command("query", "Search the audit trail (newest first).")
        {
            requestId, entity, user, service, category, operation, from, to, limit, cursor, json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var query = new AuditQuery
            {
                RequestId = parse.GetValue(requestId),
                UserId = parse.GetValue(user),
                Service = parse.GetValue(service),
                Operation = parse.GetValue(operation),
                Limit = parse.GetValue(limit),
                Cursor = parse.GetValue(cursor),
            };
            if (parse.GetValue(entity) is { } e)
            {
                var slash = e.IndexOf('/', StringComparison.Ordinal);
                if (slash <= 0 || slash == e.Length - 1)
                {
                    return Usage("--entity must be dtoType/entityId");
                }

                query = query with { DtoType = e[..slash], EntityId = e[(slash + 1)..] };
            }

            if (parse.GetValue(category) is { } c)
            {
                try
                {
                    query = query with { Category = AuditCategoryNames.Parse(c) };
                }
                catch (FormatException ex)
                {
                    return Usage(ex.Message);
                }
            }

            foreach (var (option, isFrom) in new[] { (from, true), (to, false) })
            {
                if (parse.GetValue(option) is { } text)
                {
                    if (!AuditQuery.TryParseTime(text, out var time))
                    {
                        return Usage($"{option.Name} must be an ISO-8601 time, e.g. 2025-01-31T12:00:00Z");
                    }

                    query = isFrom ? query with { From = time } : query with { To = time };
                }
            }

            if (query.From is { } start && query.To is { } end && start >= end)
            {
                return Usage("--from must be before --to (--from is inclusive, --to exclusive)");
            }

            if (query.Limit is < 1 or > 1000)
            {
                return Usage("--limit must be from 1 to 1000");
            }

            if (query.Cursor is not null && !AuditQuery.IsValidCursor(query.Cursor))
            {
                return Usage("--cursor is not a cursor nv printed (pass the next cursor of the previous page)");
            }

            try
            {
                await using var store = await AuditStore.OpenAsync(ct, withKeys: true);
                AuditOutput.Write(store.Open(await store.Sink.QueryAsync(query, ct)), parse.GetValue(json), withChanges: false);
                return ExitCodes.Ok;
            }
            catch (ArgumentException ex) when (query.Cursor is not null)
            {
                return Usage("--cursor is not a cursor nv printed: " + ex.Message);
            }
            catch (Exception ex)
            {
                return CommandErrors.Report(ex);
            }
        });
        return command;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine("nv: error: " + message);
        return ExitCodes.Usage;
    }
}
