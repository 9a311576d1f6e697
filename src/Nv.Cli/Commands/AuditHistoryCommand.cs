using System.CommandLine;
using Nv.Audit;
using Nv.Host.Pipeline;

namespace Nv.Cli.Commands;

/// <summary><c>nv audit history &lt;dtoType&gt; &lt;id&gt; [--limit N] [--json]</c>: an entity's changes, newest first, with field diffs.</summary>
internal static class AuditHistoryCommand
{
    public static Command Create()
    {
        var dtoType = new Argument<string>("dtoType") { Description = "Entity type." };
        var id = new Argument<string>("id") { Description = "Entity id." };
        var limit = new Option<int>("--limit") { Description = "Most entries (1-1000).", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "Print the page as JSON." };
        var command = new Command("history", "Show an entity's changes, newest first, with field-level diffs.") { dtoType, id, limit, json };
        command.SetAction(async (parse, ct) =>
        {
            var type = parse.GetValue(dtoType)!;
            if (!NvIdentifiers.IsValidDtoType(type) || parse.GetValue(limit) is < 1 or > 1000)
            {
                Console.Error.WriteLine("nv: error: dtoType must be letters, digits and '_' (starting with a letter); --limit from 1 to 1000");
                return ExitCodes.Usage;
            }

            try
            {
                await using var store = await AuditStore.OpenAsync(ct, withKeys: true);
                var page = store.Open(await store.Sink.QueryAsync(new AuditQuery
                {
                    DtoType = type,
                    EntityId = parse.GetValue(id),
                    Category = AuditCategory.EntityMutation,
                    Limit = parse.GetValue(limit),
                }, ct));
                AuditOutput.Write(page, parse.GetValue(json), withChanges: true);
                return ExitCodes.Ok;
            }
            catch (Exception ex)
            {
                return CommandErrors.Report(ex);
            }
        });
        return command;
    }
}
