using System.CommandLine;
using System.Globalization;

namespace Nv.Host.Commands;

/// <summary><c>nv audit verify [--json]</c>: recompute every hash chain; exit 5 naming the first broken entry and why.</summary>
internal static class AuditVerifyCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("verify", "Recompute the audit hash chains; exit 5 naming the first broken entry.") { json };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                await using var store = await AuditStore.OpenAsync(ct);
                Console.Error.WriteLine("audit verify: checking the hash chains...");
                var result = await store.Sink.VerifyAsync(ct);
                if (parse.GetValue(json))
                {
                    CliJson.Write(result);
                }
                else if (result.IsValid)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"audit verify: OK: {result.EntriesChecked} entries, every chain intact"));
                }
                else
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"audit verify: BROKEN: chain '{result.BrokenChain}', entry sequence {result.BrokenSequence}: {result.Reason} ({result.EntriesChecked} entries checked)"));
                }

                return result.IsValid ? ExitCodes.Ok : ExitCodes.VerifyFailed;
            }
            catch (Exception ex)
            {
                return CommandErrors.Report(ex);
            }
        });
        return command;
    }
}
