using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Audit.Merkle;
using Nv.Host.Hosting;

namespace Nv.Host.Commands;

/// <summary><c>nv audit verify [--from-checkpoint FILE] [--public-key FILE] [--json]</c>: verify chains, Merkle roots and checkpoints.</summary>
/// <remarks>Exit codes: 0 intact, 5 a problem was found (the first one is printed with its chain, position and reason).</remarks>
internal static class AuditVerifyCommand
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static void AddTo(Command audit)
    {
        var fromCheckpoint = new Option<string?>("--from-checkpoint") { Description = "A checkpoint file kept outside the store; the trail must still contain it unchanged." };
        var publicKey = new Option<string?>("--public-key") { Description = "Public key PEM that checkpoints must verify with (default: the store's own key)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("verify", "Verify every hash chain, the Merkle roots of the stored checkpoints and their signatures.")
        {
            fromCheckpoint,
            publicKey,
            json,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(fromCheckpoint), parse.GetValue(publicKey), parse.GetValue(json), ct));
        audit.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(string? fromCheckpoint, string? publicKey, bool json, CancellationToken cancellationToken)
    {
        try
        {
            var options = new AuditVerifyOptions
            {
                FromCheckpoint = fromCheckpoint is null ? null : SignedCheckpoint.ReadFromFile(fromCheckpoint),
                PublicKeyPem = publicKey is null ? null : await File.ReadAllTextAsync(publicKey, cancellationToken),
            };
            var host = NvHostFactory.CreateHost([]);
            await using var hostScope = (IAsyncDisposable)host;
            var result = await host.Services.GetRequiredService<IAuditProofs>().VerifyAsync(options, cancellationToken);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, Web));
            }
            else if (result.IsValid)
            {
                Console.WriteLine($"OK: {result.EntriesChecked} entries, {result.CheckpointsChecked} checkpoints verified");
            }
            else
            {
                Console.WriteLine($"BROKEN: chain {result.BrokenChain}, sequence {result.BrokenSequence?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}" +
                    (result.BrokenCheckpointSize is { } size ? $", checkpoint size {size}" : string.Empty) + $": {result.Reason}");
            }

            return result.IsValid ? ExitCodes.Ok : ExitCodes.VerifyFailed;
        }
        catch (CheckpointFormatException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return ExitCodes.Usage;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
