using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nv.Cli.Hosting;
using Nv.Host.Pipeline;

namespace Nv.Cli.Commands;

/// <summary><c>nv load</c>: starts the host (recovery + boot replay), writes a seeded workload of creates, updates and
/// deletes over overlapping entities through the real pipeline, and prints one <c>ACK</c> line per answered write.</summary>
/// <remarks>Used by the crash smoke tests: an ACK line is printed only after the pipeline answered, so every printed
/// Applied/Rejected write is acknowledged and must survive a SIGKILL.
/// Line format: <c>ACK &lt;requestId&gt; &lt;status&gt; &lt;lsn&gt; &lt;operation&gt; &lt;dtoType&gt; &lt;entityId&gt;</c>.</remarks>
internal static class LoadCommand
{
    public static void AddTo(RootCommand root)
    {
        var count = new Option<int>("--count") { Description = "Total writes.", DefaultValueFactory = _ => 1000 };
        var writers = new Option<int>("--writers") { Description = "Concurrent writers.", DefaultValueFactory = _ => 16 };
        var entities = new Option<int>("--entities") { Description = "Distinct entity ids (overlap makes updates and conflicts).", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Workload seed.", DefaultValueFactory = _ => 1 };
        var payloadBytes = new Option<int>("--payload-bytes") { Description = "Approximate payload size.", DefaultValueFactory = _ => 256 };
        var dtoType = new Option<string>("--dto-type") { Description = "Entity type.", DefaultValueFactory = _ => "Item" };
        var runId = new Option<string?>("--run-id") { Description = "Request id prefix (default: random)." };
        var quiet = new Option<bool>("--quiet") { Description = "Do not print ACK lines." };
        var command = new Command("load", "Write a generated workload through the pipeline and print each acknowledged request.")
        {
            count, writers, entities, seed, payloadBytes, dtoType, runId, quiet,
        };
        command.SetAction((parse, ct) => RunAsync(
            new Workload(
                parse.GetValue(count),
                parse.GetValue(writers),
                parse.GetValue(entities),
                parse.GetValue(seed),
                parse.GetValue(payloadBytes),
                parse.GetValue(dtoType)!,
                parse.GetValue(runId) ?? Guid.NewGuid().ToString("N")[..8]),
            parse.GetValue(quiet),
            ct));
        root.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(Workload workload, bool quiet, CancellationToken cancellationToken)
    {
        if (workload.Count < 0 || workload.Writers < 1 || workload.Entities < 1 || workload.PayloadBytes < 0)
        {
            Console.Error.WriteLine("nv: error: --count must be >= 0, --writers and --entities >= 1, --payload-bytes >= 0");
            return ExitCodes.Usage;
        }

        var host = NvHostFactory.CreateHost([]);
        await using var hostScope = (IAsyncDisposable)host;
        try
        {
            await host.StartAsync(cancellationToken);
            var pipeline = host.Services.GetRequiredService<IWritePipeline>();
            await pipeline.WhenReadyAsync(cancellationToken);
            var clock = Stopwatch.StartNew();
            var tally = await workload.RunAsync(pipeline, quiet ? null : Console.Out, cancellationToken);
            clock.Stop();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"load: {tally.Total} writes ({tally.Applied} applied, {tally.Rejected} rejected, {tally.Pending} pending) in {clock.Elapsed.TotalSeconds:F2} s, {tally.Total / Math.Max(clock.Elapsed.TotalSeconds, 1e-3):F0} writes/s"));
            await host.StopAsync(cancellationToken);
            return tally.Failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }
}
