using Microsoft.Extensions.Logging.Abstractions;
using Nv.Smoke.Tests.Support;
using Nv.Wal;

namespace Nv.Smoke.Tests.Wal;

/// <summary>Restarting on a still-full disk (a small tmpfs holding the WAL) when recovery must cut a torn tail: the repair
/// (save the tail aside, rebuild the log into a copy) is refused up front in one line naming the room it needs; no
/// <c>*.broken</c> debris is left, attempt after attempt; once there is room the same log is repaired. Needs root (mount);
/// skipped with the reason otherwise.</summary>
/// <remarks>Was: a bare "No space left on device : '.../wal-N-T.broken'" and one more empty <c>*.broken</c> file per attempt
/// (the review's repro: a 3 MiB tmpfs filled by <c>nv load</c>, then <c>nv replay</c>).</remarks>
public sealed class WalRepairDiskFullTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Nv_replay_on_a_full_disk_refuses_the_repair_in_one_line_leaves_no_debris_and_repairs_once_there_is_room()
    {
        WalIoFaultTests.SkipUnless(FaultTools.Mount);
        using var mount = TmpfsMount.Create("3m");
        FaultTools.SkipOrFailUnless(mount.Problem);
        using var data = new TempDirectory("walrepair-full");
        var wal = Path.Combine(mount.Path, "wal");
        var env = new Dictionary<string, string> { ["NV_WAL_DIR"] = wal };
        var load = await NvProcess.RunAsync(data.Path, env, Timeout, "load", "--count", "200", "--entities", "20", "--writers", "4", "--quiet", "--run-id", "full");
        Assert.True(load.ExitCode == 0, load.Describe());
        TearTail(Path.Combine(wal, "log", "nv.log.0"));
        var filler = Fill(mount.Path);
        var before = TreeSnapshot.Take(wal);

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var refused = await NvProcess.RunAsync(data.Path, env, Timeout, "replay");

            Assert.True(refused.ExitCode == 1, refused.Describe());
            var line = Assert.Single(refused.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
            Assert.Contains("Recovery must cut the log at address", line, StringComparison.Ordinal);
            Assert.Contains("free on the file system of '" + wal + "'", line, StringComparison.Ordinal);
            Assert.Contains("Nothing was changed", line, StringComparison.Ordinal);
            var after = TreeSnapshot.Take(wal);
            Assert.True(before.SequenceEqual(after), TreeSnapshot.Diff(before, after));
        }

        File.Delete(filler);
        var repaired = await NvProcess.RunAsync(data.Path, env, Timeout, "replay");
        Assert.True(repaired.ExitCode == 0, repaired.Describe());
        Assert.True(new FileInfo(Assert.Single(Directory.GetFiles(wal, "*.broken"))).Length > 0);
        var verify = await NvProcess.RunAsync(data.Path, env, Timeout, "wal", "verify");
        Assert.True(verify.ExitCode == 0, verify.Describe());
    }

    /// <summary>Should the disk still fill up while the tail is saved (the check passed: here a free-space hook says so), the
    /// partial <c>*.broken</c> file is deleted and the error says what to do; nothing was cut.</summary>
    [Fact]
    public async Task A_tail_save_that_hits_enospc_deletes_its_partial_file_and_says_why()
    {
        WalIoFaultTests.SkipUnless(FaultTools.Mount);
        using var mount = TmpfsMount.Create("2m");
        FaultTools.SkipOrFailUnless(mount.Problem);
        var options = WalSmokeSettings.SmallLog(Path.Combine(mount.Path, "wal"));
        await using (var log = WriteAheadLog.Open(options))
        {
            for (var i = 0; i < 100; i++)
            {
                await log.AppendAsync(Record(i), TestContext.Current.CancellationToken);
            }

            await log.FlushAsync(log.LastLsn, TestContext.Current.CancellationToken);
        }

        TearTail(Path.Combine(options.Directory, "log", "nv.log.0"));
        Fill(mount.Path);
        var before = TreeSnapshot.Take(options.Directory);

        var ex = Assert.Throws<IOException>(() => new FasterWriteAheadLog(options, NullLogger.Instance, freeSpace: () => long.MaxValue));

        Assert.Contains("Recovery could not save", ex.Message, StringComparison.Ordinal);
        Assert.Contains("No space left on device", ex.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was cut and the partial file was deleted", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(options.Directory, "*.broken"));
        var after = TreeSnapshot.Take(options.Directory);
        Assert.True(before.SequenceEqual(after), TreeSnapshot.Diff(before, after));
    }

    private static WalRecord Record(int i) => new()
    {
        Id = Guid.CreateVersion7(),
        Service = "smoke",
        Version = 1,
        Timestamp = DateTimeOffset.UtcNow,
        Operation = WalOperation.Create,
        DtoType = "Item",
        EntityId = "i-" + i,
        Payload = System.Text.Json.JsonDocument.Parse(WalChildRecords.PayloadJson("full-" + i)).RootElement.Clone(),
        ReplayKey = ReplayKey.Create("test", "smoke", 1, "Item", "i-" + i),
        RequestId = "full-" + i,
    };

    // A sector of non-zero bytes 1 KiB past the last entry: a write that never completed, which recovery must cut.
    private static void TearTail(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var end = Array.FindLastIndex(bytes, b => b != 0) + 1;
        var torn = new byte[Math.Max(bytes.Length, end + 1024 + 512)];
        bytes.CopyTo(torn, 0);
        Array.Fill(torn, (byte)0xA5, end + 1024, 512);
        File.WriteAllBytes(segment, torn);
    }

    // Fills the file system until it refuses another byte (ENOSPC); returns the filler file.
    private static string Fill(string directory)
    {
        var path = Path.Combine(directory, "filler");
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
        var block = new byte[4096];
        Array.Fill(block, (byte)0x5A);
        try
        {
            while (true)
            {
                stream.Write(block);
            }
        }
        catch (IOException)
        {
        }

        try
        {
            while (true)
            {
                stream.Write(block, 0, 1);
            }
        }
        catch (IOException)
        {
        }

        return path;
    }
}
