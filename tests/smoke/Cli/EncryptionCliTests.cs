using System.Net.Http.Json;
using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The operator tools with encryption at rest: <c>nv keys new-master</c>, <c>nv wal dump</c> and <c>nv audit
/// query/history</c> show sealed data as ciphertext unless the master key is configured (and as erased once the subject is
/// erased), <c>nv keys stat</c> reports keys, erasures and the master key id, <c>nv keys rotate-master</c> re-wraps the
/// keys so the new master key reads everything.</summary>
public sealed class EncryptionCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private const string AdaSecret = "Hilda-Whitcher-cli-6631";
    private const string BobSecret = "Bob-Builder-cli-6632";

    private static string All(NvRun run) => string.Join('\n', run.Stdout) + "\n" + string.Join('\n', run.Stderr);

    [Fact]
    public async Task Operator_tools_show_ciphertext_without_the_master_key_plain_text_with_it_and_erased_subjects_as_erased()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("enc-cli");
        using var keys = new TempDirectory("enc-cli-keys");
        var master = Path.Combine(keys.Path, "master.key");
        var created = await NvProcess.RunAsync(dir.Path, null, Timeout, "keys", "new-master", "--out", master);
        Assert.True(created.ExitCode == 0, created.Describe());
        var masterId = created.Stdout.Single().Trim();
        Assert.StartsWith("mk-", masterId, StringComparison.Ordinal);
        var again = await NvProcess.RunAsync(dir.Path, null, Timeout, "keys", "new-master", "--out", master);
        Assert.NotEqual(0, again.ExitCode); // never overwritten
        Assert.Contains("already exists", All(again), StringComparison.Ordinal);

        var on = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = master };
        var off = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke" };
        using (var server = await NvServer.StartAsync(dir.Path, on, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), server.Process.Describe());
            foreach (var (id, secret) in new[] { ("ada", AdaSecret), ("bob", BobSecret) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/entities/Customer/{id}") { Content = JsonContent.Create(new { name = secret }) };
                request.Headers.Add("X-Request-Id", "w-" + id);
                request.Headers.TryAddWithoutValidation("Prefer", "nv-ack=audited");
                using var response = await server.Client.SendAsync(request, ct);
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
            }

            await server.StopAsync(ct);
        }

        // With the master key: plain text. Without it: ciphertext, shown as such.
        var dumpOn = await NvProcess.RunAsync(dir.Path, on, Timeout, "wal", "dump", "--json");
        Assert.True(dumpOn.ExitCode == 0, dumpOn.Describe());
        Assert.Contains(AdaSecret, All(dumpOn), StringComparison.Ordinal);
        var dumpOff = await NvProcess.RunAsync(dir.Path, off, Timeout, "wal", "dump", "--json");
        Assert.True(dumpOff.ExitCode == 0, dumpOff.Describe());
        Assert.DoesNotContain(AdaSecret, All(dumpOff), StringComparison.Ordinal);
        Assert.Contains("encrypted: key not available", All(dumpOff), StringComparison.Ordinal);
        var walTableOff = await NvProcess.RunAsync(dir.Path, off, Timeout, "wal", "dump"); // the table view of the same records
        Assert.True(walTableOff.ExitCode == 0, walTableOff.Describe());
        Assert.Contains("[encrypted]", All(walTableOff), StringComparison.Ordinal);
        Assert.DoesNotContain(AdaSecret, All(walTableOff), StringComparison.Ordinal);

        var queryOn = await NvProcess.RunAsync(dir.Path, on, Timeout, "audit", "query", "--entity", "Customer/ada", "--json");
        Assert.True(queryOn.ExitCode == 0, queryOn.Describe());
        Assert.Contains(AdaSecret, All(queryOn), StringComparison.Ordinal);
        var queryOff = await NvProcess.RunAsync(dir.Path, off, Timeout, "audit", "query", "--entity", "Customer/ada", "--json");
        Assert.True(queryOff.ExitCode == 0, queryOff.Describe());
        Assert.DoesNotContain(AdaSecret, All(queryOff), StringComparison.Ordinal);
        using (var page = JsonDocument.Parse(string.Join('\n', queryOff.Stdout)))
        {
            var entry = Assert.Single(page.RootElement.GetProperty("entries").EnumerateArray());
            Assert.False(entry.GetProperty("erased").GetBoolean());
            Assert.False(string.IsNullOrEmpty(entry.GetProperty("ciphertext").GetString()));
            Assert.Equal(JsonValueKind.String, entry.GetProperty("keyId").ValueKind);
        }

        var tableOff = await NvProcess.RunAsync(dir.Path, off, Timeout, "audit", "history", "Customer", "ada");
        Assert.True(tableOff.ExitCode == 0, tableOff.Describe());
        Assert.Contains("ciphertext", All(tableOff), StringComparison.Ordinal);

        // Erase ada: with the master key her entries read as erased, bob's still open.
        var erase = await NvProcess.RunAsync(dir.Path, on, Timeout, "erase", "--dto-type", "Customer", "--entity-id", "ada", "--reason", "ticket 9");
        Assert.True(erase.ExitCode == 0, erase.Describe());
        var erased = await NvProcess.RunAsync(dir.Path, on, Timeout, "audit", "query", "--entity", "Customer/ada", "--json");
        Assert.DoesNotContain(AdaSecret, All(erased), StringComparison.Ordinal);
        using (var page = JsonDocument.Parse(string.Join('\n', erased.Stdout)))
        {
            Assert.Contains(page.RootElement.GetProperty("entries").EnumerateArray(), e => e.GetProperty("erased").GetBoolean());
        }

        var history = await NvProcess.RunAsync(dir.Path, on, Timeout, "audit", "history", "Customer", "ada");
        Assert.Contains("erased (key", All(history), StringComparison.Ordinal);
        Assert.Contains(BobSecret, All(await NvProcess.RunAsync(dir.Path, on, Timeout, "audit", "query", "--entity", "Customer/bob", "--json")), StringComparison.Ordinal);
        var dumpErased = await NvProcess.RunAsync(dir.Path, on, Timeout, "wal", "dump", "--json");
        Assert.DoesNotContain(AdaSecret, All(dumpErased), StringComparison.Ordinal);
        Assert.Contains(BobSecret, All(dumpErased), StringComparison.Ordinal);

        var stat = await NvProcess.RunAsync(dir.Path, on, Timeout, "keys", "stat");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        Assert.Contains("on, master key " + masterId, All(stat), StringComparison.Ordinal);
        Assert.Contains("erased subjects:     1", All(stat), StringComparison.Ordinal);
        Assert.Contains("Customer/ada", All(stat), StringComparison.Ordinal);

        // Rotation: the new master key reads everything, the old one is refused with one line.
        var next = Path.Combine(keys.Path, "next.key");
        Assert.Equal(0, (await NvProcess.RunAsync(dir.Path, null, Timeout, "keys", "new-master", "--out", next)).ExitCode);
        var rotate = await NvProcess.RunAsync(dir.Path, on, Timeout, "keys", "rotate-master", "--new", next);
        Assert.True(rotate.ExitCode == 0, rotate.Describe());
        var withNext = new Dictionary<string, string>(on) { ["NV_MASTER_KEY_FILE"] = next };
        Assert.Contains(BobSecret, All(await NvProcess.RunAsync(dir.Path, withNext, Timeout, "audit", "query", "--entity", "Customer/bob", "--json")), StringComparison.Ordinal);
        var old = await NvProcess.RunAsync(dir.Path, on, Timeout, "audit", "query", "--entity", "Customer/bob", "--json");
        Assert.NotEqual(0, old.ExitCode);
        Assert.Single(old.Stderr, l => l.StartsWith("nv: error:", StringComparison.Ordinal));
        var verify = await NvProcess.RunAsync(dir.Path, off, Timeout, "audit", "verify"); // needs no key at all
        Assert.True(verify.ExitCode == 0, verify.Describe());
    }

    /// <summary>Fails without the counts in EraseCommand: <c>nv erase</c> printed "erased Customer/ada: applied at lsn N
    /// (request …)" whether it destroyed the subject's key and entity or found nothing at all (a mistyped id), so an
    /// operator could not tell the two apart.</summary>
    [Fact]
    public async Task Erase_prints_what_it_destroyed_says_plainly_when_it_found_nothing_and_a_retry_prints_the_same()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("enc-cli-counts");
        using var keys = new TempDirectory("enc-cli-counts-keys");
        var master = Path.Combine(keys.Path, "master.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var on = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = master };
        using (var server = await NvServer.StartAsync(dir.Path, on, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), server.Process.Describe());
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/entities/Customer/ada") { Content = JsonContent.Create(new { name = AdaSecret }) };
            request.Headers.Add("X-Request-Id", "w-ada");
            request.Headers.TryAddWithoutValidation("Prefer", "nv-ack=audited");
            using var response = await server.Client.SendAsync(request, ct);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
            await server.StopAsync(ct);
        }

        string[] erase = ["erase", "--dto-type", "Customer", "--entity-id", "ada", "--reason", "ticket 9", "--request-id", "erase-ada"];
        var first = await NvProcess.RunAsync(dir.Path, on, Timeout, erase);
        Assert.True(first.ExitCode == 0, first.Describe());
        var line = Assert.Single(first.Stdout, l => l.StartsWith("erased ", StringComparison.Ordinal));
        Assert.Matches(@"^erased Customer/ada: applied at lsn \d+, 1 data key destroyed, 1 entity deleted \(request erase-ada\)$", line);
        Assert.DoesNotContain(first.Stderr, l => l.StartsWith("nv: warning:", StringComparison.Ordinal));

        var retry = await NvProcess.RunAsync(dir.Path, on, Timeout, erase);
        Assert.True(retry.ExitCode == 0, retry.Describe());
        Assert.Equal(line[..^1] + ", a retry)", Assert.Single(retry.Stdout, l => l.StartsWith("erased ", StringComparison.Ordinal)));

        var typo = await NvProcess.RunAsync(dir.Path, on, Timeout, "erase", "--dto-type", "Customer", "--entity-id", "adaa", "--reason", "ticket 9");
        Assert.True(typo.ExitCode == 0, typo.Describe()); // still a success: recorded and audited, idempotent
        Assert.Matches(@"^erased Customer/adaa: applied at lsn \d+, nothing found to erase \(0 data keys destroyed, 0 entities deleted\) \(request erase-",
            Assert.Single(typo.Stdout, l => l.StartsWith("erased ", StringComparison.Ordinal)));
        Assert.StartsWith("nv: warning: Nothing was found to erase: Customer/adaa has no data key and no live entity",
            Assert.Single(typo.Stderr, l => l.StartsWith("nv: warning:", StringComparison.Ordinal)), StringComparison.Ordinal);

        var stat = await NvProcess.RunAsync(dir.Path, on, Timeout, "keys", "stat");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        Assert.Contains("erased subjects:     2", All(stat), StringComparison.Ordinal);
    }

    /// <summary>Fails without the checks in MasterKeyCommands.NewMaster and FileMasterKeyProvider.CreateKeyFile: an empty or
    /// blank --out was an unhandled ArgumentException (a stack trace, exit 1), and an existing directory got a live master key
    /// written and fsynced into the stray file &lt;dir&gt;.tmp before the rename failed.</summary>
    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("existing")]
    [InlineData("existing/")]
    [InlineData("missing/")]
    public async Task New_master_with_a_bad_out_path_exits_2_with_one_line_and_writes_no_key(string output)
    {
        using var dir = new TempDirectory("enc-cli-newmaster");
        using var keys = new TempDirectory("enc-cli-newmaster-keys");
        Directory.CreateDirectory(Path.Combine(keys.Path, "existing"));
        var path = output.Trim().Length == 0 ? output : Path.Combine(keys.Path, output);

        var run = await NvProcess.RunAsync(dir.Path, null, Timeout, "keys", "new-master", "--out", path);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.StartsWith("nv: error: ", Assert.Single(run.Stderr), StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        Assert.Equal([Path.Combine(keys.Path, "existing")], Directory.GetFileSystemEntries(keys.Path, "*", SearchOption.AllDirectories));
    }

    /// <summary>Fails without ExistingData.RequireWal in rotate-master: with NV_WAL_DIR mistyped it created a fresh WAL there
    /// (taking the lock of a log no host uses, which voids the "no host is running" check) and re-wrapped the keys beside a
    /// running host's back, exit 0.</summary>
    [Fact]
    public async Task Rotate_master_with_a_mistyped_wal_directory_exits_2_and_creates_no_wal()
    {
        using var dir = new TempDirectory("enc-cli-rotatewal");
        using var keys = new TempDirectory("enc-cli-rotatewal-keys");
        var current = Path.Combine(keys.Path, "current.key");
        var next = Path.Combine(keys.Path, "next.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(current);
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(next);
        var env = new Dictionary<string, string> { ["NV_MASTER_KEY_FILE"] = current };
        var load = await NvProcess.RunAsync(dir.Path, env, Timeout, "load", "--count", "10", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "rw");
        Assert.True(load.ExitCode == 0, load.Describe());
        var mistyped = Path.Combine(dir.Path, "wall");

        var rotate = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string>(env) { ["NV_WAL_DIR"] = mistyped }, Timeout,
            "keys", "rotate-master", "--new", next);

        Assert.True(rotate.ExitCode == 2, rotate.Describe());
        Assert.StartsWith("nv: error: no WAL at " + mistyped, Assert.Single(rotate.Stderr), StringComparison.Ordinal);
        Assert.Empty(rotate.Stdout);
        Assert.False(Directory.Exists(mistyped), "rotate-master created " + mistyped);
    }

    /// <summary>rotate-master takes the WAL's lock without opening the log: every file of the WAL directory is byte-identical
    /// after it. Fails without WalDirectoryLock: the read-write open it made for the lock appended a close commit to
    /// nv.log.0 and replaced the commit metadata file.</summary>
    [Fact]
    public async Task Rotate_master_changes_no_file_of_the_wal()
    {
        using var dir = new TempDirectory("enc-cli-rotatero");
        using var keys = new TempDirectory("enc-cli-rotatero-keys");
        var current = Path.Combine(keys.Path, "current.key");
        var next = Path.Combine(keys.Path, "next.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(current);
        var nextId = global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(next);
        var env = new Dictionary<string, string> { ["NV_MASTER_KEY_FILE"] = current };
        var load = await NvProcess.RunAsync(dir.Path, env, Timeout, "load", "--count", "10", "--entities", "5", "--writers", "2", "--quiet", "--run-id", "rro");
        Assert.True(load.ExitCode == 0, load.Describe());
        var wal = Path.Combine(dir.Path, "wal");
        var before = TreeSnapshot.Take(wal);

        var rotate = await NvProcess.RunAsync(dir.Path, env, Timeout, "keys", "rotate-master", "--new", next);

        Assert.True(rotate.ExitCode == 0, rotate.Describe());
        Assert.Contains("to " + nextId, string.Join('\n', rotate.Stdout), StringComparison.Ordinal);
        var after = TreeSnapshot.Take(wal);
        Assert.True(before.SequenceEqual(after), "rotate-master changed the WAL:\n" + TreeSnapshot.Diff(before, after));
    }

    /// <summary>Beside a running host (which holds the WAL's lock) rotate-master refuses at once, in one line, before any key
    /// is re-wrapped: the host may be creating keys under the current master key meanwhile.</summary>
    [Fact]
    public async Task Rotate_master_beside_a_running_host_exits_1_with_one_line_and_rewraps_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("enc-cli-rotatehost");
        using var keys = new TempDirectory("enc-cli-rotatehost-keys");
        var current = Path.Combine(keys.Path, "current.key");
        var next = Path.Combine(keys.Path, "next.key");
        var currentId = global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(current);
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(next);
        var env = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = current };
        NvRun rotate;
        using (var server = await NvServer.StartAsync(dir.Path, env, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), server.Process.Describe());
            rotate = await NvProcess.RunAsync(dir.Path, env, Timeout, "keys", "rotate-master", "--new", next);
            await server.StopAsync(ct);
        }

        Assert.True(rotate.ExitCode == 1, rotate.Describe());
        Assert.StartsWith($"nv: error: The WAL directory {Path.Combine(dir.Path, "wal")} is in use by another process", Assert.Single(rotate.Stderr),
            StringComparison.Ordinal);
        Assert.Empty(rotate.Stdout);
        var stat = await NvProcess.RunAsync(dir.Path, env, Timeout, "keys", "stat", "--json");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        using var json = JsonDocument.Parse(string.Join('\n', stat.Stdout));
        Assert.Equal([currentId], json.RootElement.GetProperty("keysByMasterKey").EnumerateObject().Select(p => p.Name));
    }
}
