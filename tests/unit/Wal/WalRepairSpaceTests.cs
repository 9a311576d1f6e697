using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Testing;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>Recovery's repair of a torn tail (save the bytes aside, rebuild the log) is refused up front, in one line, when
/// the file system cannot hold it; nothing is written (no empty <c>*.broken</c> per attempt), and with room the same log
/// is repaired. The free space is a hook here; tests/smoke/Wal/WalRepairDiskFullTests runs it on a full tmpfs.</summary>
public sealed class WalRepairSpaceTests : WalTestBase
{
    private string Segment => Path.Combine(LogDirectory, "nv.log.0");

    private async Task WriteTornLogAsync()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 50);
        }

        // A sector of non-zero bytes 1 KiB past the last entry: a write that never completed (no commit covers it).
        var bytes = File.ReadAllBytes(Segment);
        var end = Array.FindLastIndex(bytes, b => b != 0) + 1;
        var torn = new byte[Math.Max(bytes.Length, end + 1024 + 512)];
        bytes.CopyTo(torn, 0);
        Array.Fill(torn, (byte)0xA5, end + 1024, 512);
        File.WriteAllBytes(Segment, torn);
    }

    private Dictionary<string, string> Snapshot() => System.IO.Directory.GetFiles(Directory, "*", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(f) != "nv.lock")
        .ToDictionary(f => Path.GetRelativePath(Directory, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public async Task A_tail_cut_that_does_not_fit_is_refused_in_one_line_and_writes_nothing()
    {
        await WriteTornLogAsync();
        var before = Snapshot();

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var ex = Assert.Throws<IOException>(() => new FasterWriteAheadLog(Options(), new FakeLogger(), freeSpace: () => 64 * 1024));
            Assert.DoesNotContain('\n', ex.Message);
            Assert.Contains("Recovery must cut the log at address", ex.Message, StringComparison.Ordinal);
            Assert.Contains("only 0.1 MiB are free. Nothing was changed", ex.Message, StringComparison.Ordinal);
            Assert.Equal(before, Snapshot());
        }

        Assert.Empty(System.IO.Directory.GetFiles(Directory, "*.broken"));
        await using var wal = new FasterWriteAheadLog(Options(), new FakeLogger(), freeSpace: () => 64L << 20);
        Assert.Equal(new Lsn(50), wal.LastLsn);
        Assert.True(new FileInfo(Assert.Single(System.IO.Directory.GetFiles(Directory, "*.broken"))).Length > 0);
        Assert.Equal(50, (await ReadAll(wal)).Count);
    }

    [Fact]
    public async Task The_room_asked_for_covers_a_copy_of_the_log()
    {
        await WriteTornLogAsync();
        var copy = new FileInfo(Segment).Length;

        var ex = Assert.Throws<IOException>(() => new FasterWriteAheadLog(Options(), new FakeLogger(), freeSpace: () => copy + (1 << 20) - 1));
        Assert.Contains("saved aside as *.broken and a copy of the", ex.Message, StringComparison.Ordinal);
        Assert.Empty(System.IO.Directory.GetFiles(Directory, "*.broken"));
    }
}
