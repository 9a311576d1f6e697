using System.CommandLine;

namespace Nv.Cli.Commands;

/// <summary><c>nv wal stat|dump|verify</c>: inspect the write-ahead log.</summary>
/// <remarks>Opening the WAL runs recovery and FasterLog holds its directory: run these while the host is stopped.</remarks>
internal static class WalCommand
{
    public static void AddTo(RootCommand root)
    {
        var wal = new Command("wal", "Inspect the write-ahead log (run while the host is stopped: opening the log runs recovery).");
        wal.Subcommands.Add(WalStatCommand.Create());
        wal.Subcommands.Add(WalDumpCommand.Create());
        wal.Subcommands.Add(WalVerifyCommand.Create());
        root.Subcommands.Add(wal);
    }
}
