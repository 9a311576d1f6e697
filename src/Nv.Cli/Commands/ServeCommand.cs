using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv serve</c> (the default): boot replay, then accept writes; HTTP API on NV_URLS.</summary>
internal static class ServeCommand
{
    public static void AddTo(RootCommand root)
    {
        var inMemory = new Option<bool>("--in-memory")
        {
            Description = "Keep the WAL, the entities and the audit trail in memory: NOT DURABLE, every write is lost when nv stops (development only).",
        };
        var serve = new Command("serve", "Run the host: recover the WAL, replay, then accept writes (default command).") { inMemory };
        serve.SetAction((parse, ct) => RunAsync(parse.UnmatchedTokens.ToArray(), parse.GetValue(inMemory), ct));
        root.Subcommands.Add(serve);
        root.Options.Add(inMemory);
        root.SetAction((parse, ct) => RunAsync(parse.UnmatchedTokens.ToArray(), parse.GetValue(inMemory), ct));
    }

    private static async Task<int> RunAsync(string[] args, bool inMemory, CancellationToken cancellationToken)
    {
        try
        {
            // A server that loses every write on exit must be asked for on its own command line, never by a setting
            // that could sit forgotten in appsettings.json or the environment.
            await using var app = NvWebApp.Build(inMemory ? [.. args, "--" + NvHostFactory.InMemoryKey + "=true"] : args);
            if (!inMemory && app.Configuration.GetValue<bool>(NvHostFactory.InMemoryKey))
            {
                Console.Error.WriteLine($"nv: error: {NvHostFactory.InMemoryKey} is set, but nv serve keeps nothing durable in memory unless started with --in-memory");
                return ExitCodes.Usage;
            }

            if (NvWebApp.CheckStartup(app) is { } refusal)
            {
                Console.Error.WriteLine("nv: error: " + refusal);
                return ExitCodes.Usage;
            }

            if (inMemory)
            {
                Console.Error.WriteLine("nv: WARNING: serving IN MEMORY (--in-memory): nothing is durable; every write is lost when nv stops.");
            }

            // What the server bound is known only once it started (NV_URLS, Kestrel:Endpoints...): a non-loopback address
            // with authentication off stops it again at once.
            if (await NvWebApp.StartCheckedAsync(app, cancellationToken) is { } exposed)
            {
                Console.Error.WriteLine("nv: error: " + exposed);
                return ExitCodes.Usage;
            }

            await app.WaitForShutdownAsync(cancellationToken);
            return Environment.ExitCode;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
