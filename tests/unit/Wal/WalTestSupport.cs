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
                try
                {
                    File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
                }
                catch (FileNotFoundException)
                {
                    // A temp file renamed away while copying (commit metadata being written): not part of the image.
                }
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

    /// <summary>Finds each frame by its magic + LSN in a segment file (layout: 12-byte FasterLog header, then the Nv frame) and
    /// returns its (start, end) byte range. With <paramref name="untilMissing"/>, stops at the first LSN not on disk (a crash image's unwritten tail).</summary>
    protected static List<(long Start, long End)> LocateFrames(string segment, int count, bool untilMissing = false)
    {
        var bytes = File.ReadAllBytes(segment);
        var result = new List<(long, long)>();
        for (long lsn = 1; lsn <= count; lsn++)
        {
            for (var p = 64; p + 32 <= bytes.Length; p += 4)
            {
                if (bytes[p + 12] == 0x4E && bytes[p + 13] == 0x56 && BitConverter.ToInt64(bytes, p + 20) == lsn
                    && BitConverter.ToInt32(bytes, p + 8) > 20)
                {
                    var len = BitConverter.ToInt32(bytes, p + 8);
                    result.Add((p, p + 12 + len));
                    break;
                }
            }

            if (untilMissing && result.Count < lsn)
            {
                return result;
            }
        }

        Assert.Equal(count, result.Count);
        return result;
    }

    /// <summary>Segment 0 of a log just before and just after one flush, and a crash image of the whole directory taken
    /// before that flush (so its commit metadata covers at most <see cref="Acknowledged"/>).</summary>
    protected sealed record FlushCapture(string Image, byte[] Before, byte[] After, IReadOnlyList<WalRecord> Acknowledged, IReadOnlyList<WalRecord> Flushed)
    {
        /// <summary>The 512-byte sectors of segment 0 the flush wrote with new content.</summary>
        public IReadOnlyList<int> ChangedSectors { get; } = [.. Enumerable.Range(0, (After.Length + 511) / 512).Where(i => !Sector(Before, i).SequenceEqual(Sector(After, i)))];

        /// <summary>A sector's bytes (zeros past the end of the file).</summary>
        public static byte[] Sector(byte[] file, int index)
        {
            var sector = new byte[512];
            if (index * 512 < file.Length)
            {
                file.AsSpan(index * 512, Math.Min(512, file.Length - index * 512)).CopyTo(sector);
            }

            return sector;
        }
    }

    /// <summary>Appends and flushes <paramref name="acknowledged"/> records one by one, takes the crash image, then appends
    /// <paramref name="next"/> and flushes them with one commit.</summary>
    protected async Task<FlushCapture> CaptureFlushAsync(int acknowledged, IReadOnlyList<WalRecord> next, Func<int, WalRecord>? acknowledgedRecord = null)
    {
        var image = Path.Combine(Directory, "before-flush");
        var acked = new List<WalRecord>();
        var flushed = new List<WalRecord>();
        byte[] after;
        await using (var wal = Open())
        {
            for (var i = 0; i < acknowledged; i++)
            {
                var r = await wal.AppendAsync((acknowledgedRecord ?? (n => Record(n)))(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
                acked.Add(r);
            }

            CopyDirectory(Directory, image);
            foreach (var r in next)
            {
                flushed.Add(await wal.AppendAsync(r, Ct));
            }

            await wal.FlushAsync(wal.LastLsn, Ct);
            after = File.ReadAllBytes(SegmentPath());
        }

        return new FlushCapture(image, File.ReadAllBytes(Path.Combine(image, "log", "nv.log.0")), after, acked, flushed);
    }

    /// <summary>A crash image of <paramref name="capture"/> in <paramref name="target"/>: the directory before the flush, with
    /// segment 0 as the flush left it on a disk that wrote only the sectors in <paramref name="landed"/> (each sector whole:
    /// new content, or the old one).</summary>
    protected static void ComposeImage(FlushCapture capture, string target, IEnumerable<int> landed)
    {
        if (System.IO.Directory.Exists(target))
        {
            System.IO.Directory.Delete(target, recursive: true);
        }

        CopyDirectory(capture.Image, target);
        var bytes = new byte[Math.Max(capture.Before.Length, capture.After.Length)];
        capture.Before.CopyTo(bytes, 0);
        foreach (var sector in landed)
        {
            FlushCapture.Sector(capture.After, sector).AsSpan(0, Math.Min(512, bytes.Length - sector * 512)).CopyTo(bytes.AsSpan(sector * 512));
        }

        File.WriteAllBytes(Path.Combine(target, "log", "nv.log.0"), bytes);
    }

    protected string SegmentPath(int index = 0) => Path.Combine(LogDirectory, $"nv.log.{index}");

    /// <summary>The segment files of this test's log that this process holds open although they were deleted (Linux keeps a
    /// deleted file's blocks until its last descriptor closes), as <c>/proc/self/fd</c> names them.</summary>
    protected List<string> DeletedSegmentsHeldOpen()
    {
        var held = new List<string>();
        foreach (var fd in System.IO.Directory.GetFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while listed
            }

            if (target is not null && target.StartsWith(Path.Combine(LogDirectory, "nv.log."), StringComparison.Ordinal)
                && target.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                held.Add(target);
            }
        }

        return held;
    }

    /// <summary>Waits until FasterLog deleted the segments a truncation cut (it does so during, or shortly after, the
    /// truncation's commit): fewer than <paramref name="before"/> segment files, and no more deleted for a moment.</summary>
    protected async Task WaitForSegmentDeletion(int before)
    {
        var count = SegmentFileCount();
        for (var i = 0; i < 250 && count >= before; i++)
        {
            await Task.Delay(20, Ct);
            count = SegmentFileCount();
        }

        Assert.True(count < before, $"no segment was deleted ({count} of {before} remain)");
        while (true)
        {
            await Task.Delay(50, Ct);
            var now = SegmentFileCount();
            if (now == count)
            {
                return;
            }

            count = now;
        }
    }

    protected int SegmentFileCount() => System.IO.Directory.GetFiles(LogDirectory, "nv.log.*").Length;

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
