using System.Globalization;
using System.Text.Json;
using Nv.Wal;

namespace Nv.Smoke.WalChild;

/// <summary>
/// Appends records with many concurrent writers to a WAL until killed, faulted or done, printing one line per event
/// (stdout is line-flushed, so every line printed before a SIGKILL reaches the parent):
/// <c>OPENING</c>, <c>OPEN last=.. records=.. ms=..</c>, <c>ACK lsn requestId</c> (only after its flush returned),
/// <c>WM-PERSISTED lsn</c> / <c>WM-FAILED ..</c>, <c>FAULT errno=.. name=.. path=.. message</c>, <c>AFTER-FAULT ..</c>, <c>DONE</c>.
/// </summary>
/// <remarks>
/// Arguments: <c>--dir D [--run R] [--writers 16] [--fill 200] [--max-records 0 (unlimited)] [--segment-bits 28]
/// [--page-bits 22] [--memory-bits 26] [--watermarks N (advance applied and persist every N acks)]
/// [--truncate (with --watermarks: also advance audited and truncate the log after each persist)]</c>.
/// Exit codes: 0 done, 3 the WAL faulted, 4 the WAL did not open, 5 anything else.
/// </remarks>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var dir = Arg(args, "--dir", null) ?? throw new ArgumentException("--dir is required");
        var run = Arg(args, "--run", "r0")!;
        var writers = Int(args, "--writers", 16);
        var fill = Int(args, "--fill", 200);
        var maxRecords = Int(args, "--max-records", 0);
        var watermarkEvery = Int(args, "--watermarks", 0);
        var truncate = args.Contains("--truncate");
        var options = new WalOptions
        {
            Directory = dir,
            SegmentSizeBits = Int(args, "--segment-bits", 28),
            PageSizeBits = Int(args, "--page-bits", 22),
            MemorySizeBits = Int(args, "--memory-bits", 26),
            MaxRecordBytes = Math.Min(1 << 20, (1 << Int(args, "--page-bits", 22)) - 64),
            WatermarkPersistInterval = TimeSpan.FromHours(1),
        };

        Console.WriteLine("OPENING");
        IWriteAheadLog wal;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            wal = WriteAheadLog.Open(options);
        }
        catch (Exception ex)
        {
            Console.WriteLine($"OPEN-FAILED {OneLine(ex)}");
            return 4;
        }

        Console.WriteLine(Inv($"OPEN last={wal.LastLsn} records={wal.Recovery.RecordCount} ms={clock.ElapsedMilliseconds} detail={OneLine(wal.Recovery.Detail)}"));
        WalFaultedException? fault = null;
        Exception? unexpected = null;
        var acked = 0L;
        using var stop = new CancellationTokenSource();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var seq = 0; !stop.IsCancellationRequested; seq++)
            {
                var rid = Inv($"{run}-w{w}-{seq}");
                try
                {
                    var stored = await wal.AppendAsync(Record(rid, fill));
                    await wal.FlushAsync(stored.Lsn);
                    Console.WriteLine(Inv($"ACK {stored.Lsn} {rid}"));
                    var count = Interlocked.Increment(ref acked);
                    if (watermarkEvery > 0)
                    {
                        wal.AdvanceApplied(stored.Lsn);
                        if (truncate)
                        {
                            wal.AdvanceAudited(stored.Lsn);
                        }

                        if (count % watermarkEvery == 0)
                        {
                            await PersistWatermarksAsync(wal);
                            if (truncate)
                            {
                                Console.WriteLine(Inv($"TRUNCATED first={await wal.TruncateAsync()}"));
                            }
                        }
                    }

                    if (maxRecords > 0 && count >= maxRecords)
                    {
                        await stop.CancelAsync();
                    }
                }
                catch (WalFaultedException ex)
                {
                    Interlocked.CompareExchange(ref fault, ex, null);
                    await stop.CancelAsync();
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref unexpected, ex, null);
                    await stop.CancelAsync();
                }
            }
        })));

        if (fault is not null)
        {
            Console.WriteLine(Inv($"FAULT errno={fault.Errno?.ToString(CultureInfo.InvariantCulture) ?? "unknown"} name={fault.ErrnoName} path={fault.Path} {OneLine(fault.Message)}"));
            var next = await Probe(async () => await wal.AppendAsync(Record(run + "-after-fault", fill)));
            var flush = await Probe(async () => await wal.FlushAsync(wal.LastLsn));
            Console.WriteLine(Inv($"AFTER-FAULT state={wal.State} durable={wal.DurableLsn} last={wal.LastLsn} next-append={next} next-flush={flush}"));
            await wal.DisposeAsync();
            return 3;
        }

        if (unexpected is not null)
        {
            Console.WriteLine($"ERROR {OneLine(unexpected)}");
            return 5;
        }

        await wal.DisposeAsync();
        Console.WriteLine("DONE");
        return 0;
    }

    private static async Task PersistWatermarksAsync(IWriteAheadLog wal)
    {
        var applied = wal.AppliedLsn;
        try
        {
            await wal.PersistWatermarksAsync();
            Console.WriteLine(Inv($"WM-PERSISTED {applied}"));
        }
        catch (Exception ex) when (ex is not WalFaultedException)
        {
            Console.WriteLine(Inv($"WM-FAILED applied={applied} state={wal.State} {ex.GetType().Name} {OneLine(ex.Message)}"));
        }
    }

    private static async Task<string> Probe(Func<Task> action)
    {
        try
        {
            await action();
            return "SUCCEEDED";
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    private static WalRecord Record(string rid, int fill) => new()
    {
        Id = Guid.CreateVersion7(),
        Service = "walchild",
        Version = 1,
        Timestamp = DateTimeOffset.UtcNow,
        Operation = WalOperation.Update,
        DtoType = "Probe",
        EntityId = rid,
        Payload = JsonDocument.Parse(ChildPayload.Json(rid, fill)).RootElement.Clone(),
        ReplayKey = ReplayKey.Create("smoke", "walchild", 1, "Probe", rid),
        RequestId = rid,
    };

    private static string? Arg(string[] args, string name, string? fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    private static int Int(string[] args, string name, int fallback) =>
        Arg(args, name, null) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    private static string OneLine(object? value) => (value?.ToString() ?? "").Replace('\n', ' ').Replace('\r', ' ');

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
