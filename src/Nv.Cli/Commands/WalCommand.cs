using System.CommandLine;

namespace Nv.Cli.Commands;

/// <summary><c>nv wal stat|dump|verify</c>: inspect the write-ahead log.</summary>
/// <remarks>They open the log read-only (<see cref="Nv.Wal.WalOptions.ReadOnly"/>): recovery runs in memory and reports what it
/// would repair, and nothing in the WAL directory changes. The directory lock is still taken, so they fail at once while a
/// host runs: run them while it is stopped.</remarks>
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
