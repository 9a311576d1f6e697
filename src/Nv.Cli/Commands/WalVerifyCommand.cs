using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Nv.Cli.Hosting;
using Nv.Wal;

namespace Nv.Cli.Commands;

/// <summary><c>nv wal verify [--json]</c>: opens the log in <see cref="WalRecoveryMode.AbsoluteConsistency"/> (so recovery repairs
/// nothing) and reads every record, checking frames, CRCs and the LSN sequence. Exit 5 names the damaged position.</summary>
/// <remarks>Run it while the host is stopped: FasterLog holds the directory.</remarks>
internal static class WalVerifyCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("verify", "Check every WAL record's frame, CRC and sequence; exit 5 with the position of any damage (host must be stopped).")
        {
            json,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(bool json, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        try
        {
            var showAfter = ProgressSetting.ShowAfter(TimeSpan.Zero); // before anything is opened: a bad value is exit 2
            // Read-only: verifying changes nothing in the WAL directory (no close commit, no watermarks, no cut).
            var host = NvHostFactory.CreateHost([], static services =>
            {
                NvHostFactory.ReadOnlyStores(services);
                services.Configure<WalOptions>(static o => o.RecoveryMode = WalRecoveryMode.AbsoluteConsistency);
            }, fileLog: false);
            await using var scope = (IAsyncDisposable)host;
            ExistingData.RequireWal(host.Services);
            var wal = host.Services.GetRequiredService<IWriteAheadLog>();
            var stats = wal.GetStatistics();
            var total = Math.Max(0, stats.DurableLsn.Value - stats.FirstLsn.Value + 1);
            var progress = new ProgressLine("wal verify", showAfter);
            long count = 0;
            var expected = stats.FirstLsn;
            await foreach (var record in wal.ReadAsync(stats.FirstLsn, cancellationToken))
            {
                // Gaps are checked by recovery itself against the jumps recorded in lsn-jumps (ContinueAfterAsync, a skip):
                // here only the order is, which no recorded jump may break.
                if (record.Lsn < expected && count > 0)
                {
                    return Damaged(json, $"sequence out of order: expected lsn {expected.Value} or higher, found {record.Lsn.Value}", null, null, expected.Value - 1);
                }

                expected = record.Lsn.Next;
                if (++count % 1024 == 0)
                {
                    progress.Report(count, total);
                }
            }

            progress.Report(count, total);
            progress.Done();
            if (json)
            {
                CliJson.Write(new { ok = true, records = count, firstLsn = stats.FirstLsn.Value, lastLsn = stats.LastLsn.Value, segments = stats.SegmentCount });
            }
            else
            {
                Console.WriteLine(string.Create(inv, $"wal verify: OK: {count} records, lsn {stats.FirstLsn.Value}..{stats.LastLsn.Value}, {stats.SegmentCount} segments"));
            }

            return ExitCodes.Ok;
        }
        catch (Exception ex) when (Corruption(ex) is { } corruption)
        {
            return Damaged(json, corruption.Message, corruption.Path, corruption.FileOffset, corruption.LastGoodLsn.Value);
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    private static WalCorruptionException? Corruption(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is WalCorruptionException corruption)
            {
                return corruption;
            }
        }

        return null;
    }

    private static int Damaged(bool json, string reason, string? path, long? offset, long lastGood)
    {
        if (json)
        {
            CliJson.Write(new { ok = false, reason, path, offset, lastGoodLsn = lastGood });
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wal verify: DAMAGED: {(path is null ? "" : $"{path} at offset {offset}, ")}after lsn {lastGood}: {reason.ReplaceLineEndings(" ")}"));
        }

        return ExitCodes.VerifyFailed;
    }
}
