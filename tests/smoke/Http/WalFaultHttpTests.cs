using System.Net;
using System.Text;
using System.Text.Json;
using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Wal;

namespace Nv.Smoke.Tests.Http;

/// <summary>The real <c>nv serve</c> with its WAL on a 4 MiB tmpfs that fills up: the write that hits ENOSPC is answered
/// 500 Problem+json <c>wal-faulted</c>, later writes are refused the same way, readiness fails with the same problem, and nothing that was
/// answered 201 is lost after a restart. Needs root (mount); skipped with the reason otherwise.</summary>
public sealed class WalFaultHttpTests
{
    [Fact]
    public async Task A_full_wal_disk_faults_the_host_with_500s_and_loses_nothing_acknowledged()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("http-walfault");
        using var mount = TmpfsMount.Create("4m");
        FaultTools.SkipOrFailUnless(mount.Problem);

        // Port 0: the kernel picks a free port and NvServer reads it from the host's log (no free-port race).
        var env = new Dictionary<string, string>
        {
            ["NV_WAL_DIR"] = mount.Path,
            ["Nv__Wal__SegmentSizeBits"] = "20",
            ["Nv__Wal__PageSizeBits"] = "16",
            ["Nv__Wal__MemorySizeBits"] = "20",
            ["Nv__Wal__MaxRecordBytes"] = "65000",
            ["Nv__Pipeline__MaxPayloadBytes"] = "60000", // the payload limit must fit a record (options validation)
            ["Nv__Pipeline__MaxBatchBytes"] = "65000", // and so must a batch
            ["Nv__Wal__CompressPayloads"] = "false", // 30 KB of 'x' would compress to almost nothing and never fill the disk
        };
        var acknowledged = new List<string>();
        using (var host = await NvServer.StartAsync(dir.Path, env, null, ct))
        {
            var http = host.Client;
            Assert.True(await host.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), $"nv serve did not become ready\n{host.Process.Describe()}");
            var body = JsonSerializer.Serialize(new { blob = new string('x', 30_000) });
            HttpResponseMessage? failure = null;
            for (var i = 0; i < 1000 && failure is null; i++)
            {
                var id = "e" + i;
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/entities/Blob/{id}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add("X-Request-Id", "r" + i);
                var response = await http.SendAsync(request, ct);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add(id);
                }
                else
                {
                    failure = response;
                }
            }

            Assert.NotNull(failure);
            Assert.Equal(HttpStatusCode.InternalServerError, failure.StatusCode);
            Assert.Equal("application/problem+json", failure.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await failure.Content.ReadAsStringAsync(ct));
            Assert.EndsWith("wal-faulted", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);

            using var later = new HttpRequestMessage(HttpMethod.Post, "/v1/entities/Blob/after") { Content = new StringContent("""{"a":1}""", Encoding.UTF8, "application/json") };
            later.Headers.Add("X-Request-Id", "r-after");
            Assert.Equal(HttpStatusCode.InternalServerError, (await http.SendAsync(later, ct)).StatusCode);
            var ready = await http.GetAsync("/health/ready", ct);
            Assert.NotEqual(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("wal-faulted", await ready.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
            Assert.True(acknowledged.Count > 0, "the disk filled before any write was acknowledged");
            host.Kill();
        }

        // Restart on a copy of the full disk's contents (recovery may need room to cut a torn tail).
        using var copy = new TempDirectory("http-walfault-copy");
        foreach (var file in Directory.GetFiles(mount.Path, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy.Path, Path.GetRelativePath(mount.Path, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var restartEnv = new Dictionary<string, string>(env) { ["NV_WAL_DIR"] = copy.Path };
        var replay = await NvProcess.RunAsync(dir.Path, restartEnv, TimeSpan.FromMinutes(2), "replay", "--json");
        Assert.True(replay.ExitCode == 0, replay.Describe());
        await using var db = Nv.DbWriter.DbWriters.OpenSqlite(new Nv.DbWriter.DbWriterOptions { DataDirectory = dir.Path });
        foreach (var id in acknowledged)
        {
            Assert.True(await db.GetAsync("Blob", id, ct) is not null, $"acknowledged entity {id} is missing after the restart");
        }
    }
}
