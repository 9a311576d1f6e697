using System.Text.Json;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A fresh temp directory per test plus small-sized WAL options.</summary>
public abstract class WalTestBase : IDisposable
{
    protected WalTestBase()
    {
        Directory = Path.Combine(Path.GetTempPath(), "nv-wal-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected string Directory { get; }

    protected string LogDirectory => Path.Combine(Directory, "log");

    protected WalOptions Options(WalRecoveryMode mode = WalRecoveryMode.TolerateCorruptedTail, int segmentBits = 16) => new()
    {
        Directory = Directory,
        PageSizeBits = 12,
        MemorySizeBits = 15,
        SegmentSizeBits = segmentBits,
        MaxRecordBytes = 2048,
        RecoveryMode = mode,
        WatermarkPersistInterval = TimeSpan.FromMinutes(10),
    };

    protected IWriteAheadLog Open(WalRecoveryMode mode = WalRecoveryMode.TolerateCorruptedTail, int segmentBits = 16) =>
        WriteAheadLog.Open(Options(mode, segmentBits));

    protected static WalRecord Record(int i, string? userId = "user-1") => new()
    {
        Id = Guid.CreateVersion7(),
        Service = "orders",
        Version = 3,
        Timestamp = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero).AddSeconds(i),
        Operation = WalOperation.Update,
        DtoType = "Order",
        EntityId = $"order-{i}",
        Payload = JsonDocument.Parse($$"""{"n":{{i}},"name":"item {{i}}"}""").RootElement.Clone(),
        ReplayKey = ReplayKey.Create("test", "orders", 3, "Order", $"order-{i}"),
        RequestId = $"req-{i}",
        UserId = userId,
        Reason = i % 2 == 0 ? null : "because",
        Metadata = new Dictionary<string, string> { ["k"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    protected static async Task<List<WalRecord>> ReadAll(IWriteAheadLog wal, Lsn from = default)
    {
        var list = new List<WalRecord>();
        await foreach (var r in wal.ReadAsync(from, Ct))
        {
            list.Add(r);
        }

        return list;
    }

    protected static async Task<List<WalRecord>> AppendFlushed(IWriteAheadLog wal, int count, int start = 0)
    {
        var list = new List<WalRecord>();
        for (var i = start; i < start + count; i++)
        {
            list.Add(await wal.AppendAsync(Record(i), Ct));
        }

        await wal.FlushAsync(wal.LastLsn, Ct);
        return list;
    }

    /// <summary>Copies a log directory, also while the log is open (a crash image): skips <c>nv.lock</c>, which the open
    /// log holds (a crash leaves no lock behind), and never copies a directory into itself.</summary>
    protected static void CopyDirectory(string from, string to)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.GetFiles(from))
        {
            if (Path.GetFileName(file) != "nv.lock")
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            }
        }

        foreach (var dir in System.IO.Directory.GetDirectories(from))
        {
            if (Path.GetFullPath(dir) != Path.GetFullPath(to))
            {
                CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
            }
        }
    }

    protected string SegmentPath(int index = 0) => Path.Combine(LogDirectory, $"nv.log.{index}");

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
