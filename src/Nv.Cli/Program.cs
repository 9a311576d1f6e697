using System.CommandLine;
using Nv.Cli.Commands;
using Serilog;


namespace Nv.Cli;

/// <summary>The <c>nv</c> executable: <c>serve</c> (default), <c>replay</c>, <c>load</c>, <c>wal</c>, <c>audit</c>, <c>keys</c>, <c>erase</c>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        Serilog.Log.Logger = new LoggerConfiguration()
            .WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .CreateBootstrapLogger();
        try
        {
            if (Console.IsOutputRedirected)
            {
                // Tables piped to a file or another program keep whole cells instead of wrapping at 80 columns.
                Spectre.Console.AnsiConsole.Profile.Width = 240;
            }

            var root = new RootCommand("Nv: a write-ahead-log storage engine with an immutable audit trail.");
            ServeCommand.AddTo(root);
            ReplayCommand.AddTo(root);
            LoadCommand.AddTo(root);
            WalCommand.AddTo(root);
            AuditCommand.AddTo(root);
            KeysCommand.AddTo(root);
            EraseCommand.AddTo(root);
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // Bad usage: one line on stderr and exit 2, nothing run (the full help is one 'nv --help' away).
                Console.Error.WriteLine("nv: error: " + string.Join("; ", parsed.Errors.Select(e => e.Message)).ReplaceLineEndings(" ") + " (see 'nv --help')");
                return ExitCodes.Usage;
            }

            return await parsed.InvokeAsync();
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
