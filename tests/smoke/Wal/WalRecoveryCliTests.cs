using System.Buffers.Binary;
using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Wal;

/// <summary>The real <c>nv</c> binary on a WAL whose last acknowledged record was damaged after a clean stop: recovery
/// refuses to cut it, every command that opens the WAL exits 3 with one line naming the file, the offset and the ways
/// forward, and only the operator's explicit recovery mode opens it.</summary>
public sealed class WalRecoveryCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A_damaged_acknowledged_record_makes_nv_exit_3_and_only_point_in_time_recovery_opens_it()
    {
        using var dir = new TempDirectory("wal-refuse");
        var load = await NvProcess.RunAsync(dir.Path, null, Timeout, "load", "--count", "40", "--entities", "10", "--writers", "4", "--quiet", "--run-id", "r");
        Assert.True(load.ExitCode == 0, load.Describe());

        var segment = Directory.GetFiles(Path.Combine(dir.Path, "wal"), "nv.log.0", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken);
        var last = LastFrame(bytes, 40);
        bytes[last + 30] ^= 0x5A; // a body byte of LSN 40: its CRC no longer matches
        await File.WriteAllBytesAsync(segment, bytes, TestContext.Current.CancellationToken);

        foreach (var command in new[] { new[] { "wal", "stat" }, ["replay"] })
        {
            var run = await NvProcess.RunAsync(dir.Path, null, Timeout, command);
            Assert.True(run.ExitCode == 3, $"nv {string.Join(' ', command)}: {run.Describe()}");
            var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error:", StringComparison.Ordinal));
            Assert.Contains(segment, line, StringComparison.Ordinal);
            Assert.Contains($"offset {last - 12}", line, StringComparison.Ordinal);
            Assert.Contains("after LSN 39", line, StringComparison.Ordinal);
            Assert.Contains("nv wal verify", line, StringComparison.Ordinal);
            Assert.Contains("Nv__Wal__RecoveryMode", line, StringComparison.Ordinal);
        }

        // Nothing was cut or rewritten by the refusals.
        Assert.Equal(bytes, await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "wal"), "*.broken"));

        // wal stat opens the WAL read-only: in PointInTime mode it reports the cut a read-write open would make, and makes none.
        var pointInTime = new Dictionary<string, string> { ["Nv__Wal__RecoveryMode"] = "PointInTime" };
        var look = await NvProcess.RunAsync(dir.Path, pointInTime, Timeout, "wal", "stat", "--json");
        Assert.True(look.ExitCode == 0, look.Describe());
        using (var report = JsonDocument.Parse(string.Join('\n', look.Stdout)))
        {
            Assert.Contains("would cut", report.RootElement.GetProperty("recovery").GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(bytes, await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "wal"), "*.broken"));

        // Accepting the loss takes a read-write open: nv replay in PointInTime mode cuts LSN 40 and saves it aside.
        var pit = await NvProcess.RunAsync(dir.Path, pointInTime, Timeout, "replay");
        Assert.True(pit.ExitCode == 0, pit.Describe());
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "wal"), "*.broken"));
        var stat = await NvProcess.RunAsync(dir.Path, null, Timeout, "wal", "stat", "--json");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        using var json = JsonDocument.Parse(string.Join('\n', stat.Stdout));

        // LSN 40 was cut, but the database had applied it (the watermark says so): the next LSN is 41, never 40 again.
        Assert.Equal(40, json.RootElement.GetProperty("wal").GetProperty("lastLsn").GetInt64());
        var dump = await NvProcess.RunAsync(dir.Path, null, Timeout, "wal", "dump", "--from", "38", "--json");
        Assert.True(dump.ExitCode == 0, dump.Describe());
        Assert.Equal([38, 39], dump.Stdout.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("lsn").GetInt64()));
    }

    /// <summary>Where the Nv frame of <paramref name="lsn"/> starts (magic "NV", format 1, flags 0; the LSN at +8).</summary>
    private static int LastFrame(byte[] bytes, long lsn)
    {
        for (var at = bytes.Length - 24; at >= 0; at--)
        {
            if (bytes[at] == 0x4E && bytes[at + 1] == 0x56 && bytes[at + 2] == 1 && bytes[at + 3] == 0
                && BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at + 8)) == lsn)
            {
                return at;
            }
        }

        throw new InvalidOperationException($"no frame for LSN {lsn}");
    }
}
