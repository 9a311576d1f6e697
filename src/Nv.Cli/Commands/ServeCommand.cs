using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Nv.Cli.Hosting;

namespace Nv.Cli.Commands;

/// <summary><c>nv serve</c> (the default): boot replay, then accept writes; HTTP API on NV_URLS.</summary>
internal static class ServeCommand
{
    public static void AddTo(RootCommand root)
    {
        var serve = new Command("serve", "Run the host: recover the WAL, replay, then accept writes (default command).");
        serve.SetAction((parse, ct) => RunAsync(parse.UnmatchedTokens.ToArray(), ct));
        root.Subcommands.Add(serve);
        root.SetAction((parse, ct) => RunAsync(parse.UnmatchedTokens.ToArray(), ct));
    }

    private static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        try
        {
            await using var app = NvWebApp.Build(args);
            if (NvWebApp.CheckStartup(app) is { } refusal)
            {
                Console.Error.WriteLine("nv: error: " + refusal);
                return ExitCodes.Usage;
            }

            await app.RunAsync(cancellationToken);
            return Environment.ExitCode;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
