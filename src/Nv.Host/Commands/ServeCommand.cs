using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Hosting;

namespace Nv.Host.Commands;

/// <summary><c>nv serve</c> (the default): boot replay, then accept writes; health endpoints on NV_URLS.</summary>
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
            await using var app = NvHostFactory.CreateWebApplication(args);
            var lifecycle = app.Services.GetRequiredService<NvLifecycle>();
            app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
            app.MapGet("/health/ready", () => lifecycle.IsReady
                ? Results.Ok(new { status = "ready" })
                : Results.Problem(title: "Not ready", detail: "Boot replay has not finished or the WAL has failed.", statusCode: 503));
            await app.RunAsync(cancellationToken);
            return Environment.ExitCode;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
