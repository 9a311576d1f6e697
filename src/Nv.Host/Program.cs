using System.CommandLine;
using Nv.Host.Commands;
using Serilog;


namespace Nv.Host;

/// <summary>The <c>nv</c> executable: <c>serve</c> (default), <c>replay</c>, <c>load</c>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        Serilog.Log.Logger = new LoggerConfiguration()
            .WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .CreateBootstrapLogger();
        try
        {
            var root = new RootCommand("Nv: a write-ahead-log storage engine with an immutable audit trail.");
            ServeCommand.AddTo(root);
            ReplayCommand.AddTo(root);
            LoadCommand.AddTo(root);
            AuditCommands.AddTo(root);
            return await root.Parse(args).InvokeAsync();
        }
        catch (Exception ex)
        {
            Serilog.Log.Fatal(ex, "nv terminated");
            return CommandErrors.ExitCodeFor(ex);
        }
        finally
        {
            await Serilog.Log.CloseAndFlushAsync();
        }
    }
}
