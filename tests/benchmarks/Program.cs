using BenchmarkDotNet.Running;
using Nv.Benchmarks.Audit;
using Nv.Benchmarks.Pipeline;
using Nv.Benchmarks.Wal;

namespace Nv.Benchmarks;

/// <summary>Scenario runners for throughput/latency under concurrency (<c>pipeline</c>, <c>batch</c>, <c>bounds</c>, <c>stages</c>, <c>replay</c>, <c>wal</c>, <c>payload-format</c>,
/// <c>audit-verify-progress</c>),
/// and BenchmarkDotNet for micro-benchmarks (everything else, e.g. <c>--filter '*Merkle*'</c>).</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "pipeline":
                return await PipelineScenario.RunAsync(args[1..]);
            case "batch":
                return await BatchScenario.RunAsync(args[1..]);
            case "bounds":
                return await BoundsScenario.RunAsync(args[1..]);
            case "replay":
                return await ReplayScenario.RunAsync(args[1..]);
            case "sustained":
                return await SustainedScenario.RunAsync(args[1..]);
            case "http":
                return await HttpScenario.RunAsync(args[1..]);
            case "stages":
                return await StageScenario.RunAsync(args[1..]);
            case "audit-indexes":
                return await AuditIndexScenario.RunAsync(args[1..]);
            case "audit-verify-progress":
                return await AuditVerifyProgressScenario.RunAsync(args[1..]);
            case "wal":
                return await WalScenario.RunAsync(args[1..]);
            case "payload-format":
                return await PayloadFormatScenario.RunAsync(args[1..]);
            default:
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
                return 0;
        }
    }
}
