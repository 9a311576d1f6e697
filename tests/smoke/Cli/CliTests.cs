using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>The operator CLI, run as the real <c>nv</c> binary on logs written by <c>nv load</c>.</summary>
public sealed class CliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static Task<NvRun> Nv(string dataDir, params string[] args) => NvProcess.RunAsync(dataDir, null, Timeout, args);

    private static async Task LoadAsync(string dataDir, int count = 60)
    {
        var load = await Nv(dataDir, "load", "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--entities", "10",
            "--writers", "4", "--quiet", "--run-id", "cli");
        Assert.True(load.ExitCode == 0, load.Describe());
    }

    /// <summary>Fails without ExistingData: on a mistyped data directory <c>wal verify</c> and <c>audit verify</c> created empty
    /// stores (and a signing key) there and answered "OK: 0 records", a false all-clear for an operator checking after a crash.</summary>
    [Theory]
    [InlineData("wal", "stat")]
    [InlineData("wal", "verify")]
    [InlineData("wal", "dump")]
    [InlineData("audit", "verify")]
    [InlineData("audit", "query")]
    [InlineData("audit", "checkpoint")]
    [InlineData("keys", "stat")]
    public async Task An_inspecting_command_on_a_directory_without_nv_data_exits_2_with_one_line_and_creates_nothing(string group, string command)
    {
        using var dir = new TempDirectory("cli-nodata");
        var missing = Path.Combine(dir.Path, "mistyped");

        var run = await Nv(missing, group, command);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        Assert.False(Directory.Exists(missing), "the command created " + missing);
    }

    [Fact]
    public async Task Wal_stat_dump_and_verify_describe_a_log_written_by_load()
    {
        using var dir = new TempDirectory("cli-wal");
        await LoadAsync(dir.Path);

        var stat = await Nv(dir.Path, "wal", "stat", "--json");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        using (var json = JsonDocument.Parse(string.Join('\n', stat.Stdout)))
        {
            var wal = json.RootElement.GetProperty("wal");
            Assert.Equal(60, wal.GetProperty("lastLsn").GetInt64());
            Assert.Equal(60, wal.GetProperty("appliedLsn").GetInt64());
            Assert.Equal(0, wal.GetProperty("unresolved").GetInt64());
            Assert.True(wal.GetProperty("segments").GetInt32() >= 1);
        }

        var table = await Nv(dir.Path, "wal", "stat");
        Assert.True(table.ExitCode == 0, table.Describe());
        Assert.Contains(table.Stdout, l => l.Contains("unresolved records", StringComparison.Ordinal));

        var dump = await Nv(dir.Path, "wal", "dump", "--from", "10", "--limit", "5", "--json");
        Assert.True(dump.ExitCode == 0, dump.Describe());
        var lsns = dump.Stdout.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("lsn").GetInt64()).ToList();
        Assert.Equal([10, 11, 12, 13, 14], lsns);

        var human = await Nv(dir.Path, "wal", "dump", "--limit", "3");
        Assert.True(human.ExitCode == 0, human.Describe());
        Assert.Contains(human.Stdout, l => l.Contains("cli-", StringComparison.Ordinal));

        var verify = await Nv(dir.Path, "wal", "verify");
        Assert.True(verify.ExitCode == 0, verify.Describe());
        Assert.Contains(verify.Stdout, l => l.StartsWith("wal verify: OK: 60 records", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wal_verify_on_a_corrupted_segment_exits_5_naming_the_position()
    {
        using var dir = new TempDirectory("cli-walbad");
        await LoadAsync(dir.Path);
        var segment = Directory.GetFiles(Path.Combine(dir.Path, "wal"), "nv.log.0", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(segment, TestContext.Current.CancellationToken);
        // Aim inside a record's frame a third of the way into the log (so valid records follow: mid-log damage). A
        // byte picked by position alone can land in page padding or a FasterLog commit record, which verify rightly
        // ignores. Frames start with the magic "NV" (0x4E 0x56), format version 1, then a zero byte.
        byte[] header = [0x4E, 0x56, 0x01, 0x00];
        var frames = new List<int>();
        for (var at = bytes.AsSpan().IndexOf(header); at >= 0; at = NextFrame(bytes, header, at + 1))
        {
            frames.Add(at);
        }

        Assert.True(frames.Count >= 30, $"found only {frames.Count} frames");
        bytes[frames[frames.Count / 3] + 30] ^= 0x5A; // a body byte: the frame's CRC no longer matches
        await File.WriteAllBytesAsync(segment, bytes, TestContext.Current.CancellationToken);

        var verify = await Nv(dir.Path, "wal", "verify");
        Assert.True(verify.ExitCode == 5, verify.Describe());
        var line = Assert.Single(verify.Stdout, l => l.StartsWith("wal verify: DAMAGED", StringComparison.Ordinal));
        Assert.Contains("nv.log.0 at offset", line, StringComparison.Ordinal);
        Assert.Contains("after lsn", line, StringComparison.Ordinal);

        var json = await Nv(dir.Path, "wal", "verify", "--json");
        Assert.Equal(5, json.ExitCode);
        Assert.False(JsonDocument.Parse(json.Stdout.Single()).RootElement.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Audit_verify_on_a_tampered_audit_db_exits_5_naming_the_entry()
    {
        using var dir = new TempDirectory("cli-audit");
        await LoadAsync(dir.Path, 30);
        var ok = await Nv(dir.Path, "audit", "verify");
        Assert.True(ok.ExitCode == 0, ok.Describe());

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "audit.db")};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                DROP TRIGGER IF EXISTS audit_entries_no_update;
                UPDATE audit_entries SET reason = 'nothing to see here' WHERE sequence = 7;
                """;
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        var verify = await Nv(dir.Path, "audit", "verify");
        Assert.True(verify.ExitCode == 5, verify.Describe());
        var line = Assert.Single(verify.Stdout);
        Assert.StartsWith("audit verify: BROKEN", line, StringComparison.Ordinal);
        Assert.Contains("sequence 7", line, StringComparison.Ordinal);

        var json = await Nv(dir.Path, "audit", "verify", "--json");
        Assert.Equal(5, json.ExitCode);
        Assert.Equal(7, JsonDocument.Parse(json.Stdout.Single()).RootElement.GetProperty("brokenSequence").GetInt64());
    }

    [Fact]
    public async Task Audit_history_and_query_print_tables_and_parseable_json()
    {
        using var dir = new TempDirectory("cli-history");
        await LoadAsync(dir.Path);
        var query = await Nv(dir.Path, "audit", "query", "--category", "entity-mutation", "--limit", "5", "--json");
        Assert.True(query.ExitCode == 0, query.Describe());
        var entries = JsonDocument.Parse(query.Stdout.Single()).RootElement.GetProperty("entries");
        Assert.Equal(5, entries.GetArrayLength());
        var entity = entries[0].GetProperty("entityId").GetString()!;

        var history = await Nv(dir.Path, "audit", "history", "Item", entity, "--json");
        Assert.True(history.ExitCode == 0, history.Describe());
        var changes = JsonDocument.Parse(history.Stdout.Single()).RootElement.GetProperty("entries");
        Assert.True(changes.GetArrayLength() >= 1);
        Assert.All(changes.EnumerateArray(), e => Assert.Equal(entity, e.GetProperty("entityId").GetString()));

        var table = await Nv(dir.Path, "audit", "history", "Item", entity);
        Assert.True(table.ExitCode == 0, table.Describe());
        Assert.Contains(table.Stdout, l => l.Contains("Item/" + entity, StringComparison.Ordinal));

        var byRequest = await Nv(dir.Path, "audit", "query", "--request-id", entries[0].GetProperty("requestId").GetString()!);
        Assert.True(byRequest.ExitCode == 0, byRequest.Describe());
        Assert.Contains(byRequest.Stdout, l => l.StartsWith("1 entries", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("wal", "--help")]
    [InlineData("wal", "stat", "--help")]
    [InlineData("wal", "dump", "--help")]
    [InlineData("wal", "verify", "--help")]
    [InlineData("audit", "--help")]
    [InlineData("audit", "query", "--help")]
    [InlineData("audit", "history", "--help")]
    [InlineData("audit", "verify", "--help")]
    [InlineData("replay", "--help")]
    [InlineData("keys", "hash", "--help")]
    public async Task Help_exits_0(params string[] args)
    {
        using var dir = new TempDirectory("cli-help");
        var run = await Nv(dir.Path, args);
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains(run.Stdout, l => l.Contains("Usage:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("wal", "dump", "--limit", "many")]
    [InlineData("wal", "frobnicate")]
    [InlineData("audit", "history", "Item")]
    [InlineData("audit", "query", "--category", "nope")]
    [InlineData("audit", "query", "--from", "yesterday")]
    [InlineData("audit", "query", "--entity", "no-slash")]
    [InlineData("wal", "dump", "--limit", "0")]
    public async Task Bad_arguments_exit_2_with_one_line(params string[] args)
    {
        using var dir = new TempDirectory("cli-bad");
        var run = await Nv(dir.Path, args);
        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr);
        Assert.StartsWith("nv: error: ", line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    /// <summary>Fails without ExistingData.RequireAny: replay on a mistyped directory created empty stores and answered
    /// "replayed: 0 records". (A directory whose WAL is lost under stores that hold records is exit 6, StoreMismatchCliTests.)</summary>
    [Fact]
    public async Task Replay_on_a_directory_without_nv_data_exits_2_and_creates_nothing()
    {
        using var dir = new TempDirectory("cli-noreplay");
        var missing = Path.Combine(dir.Path, "mistyped");

        var run = await Nv(missing, "replay");

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains("no Nv data", Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing), "replay created " + missing);
    }

    /// <summary>Fails without the check in EraseCommand: on a mistyped directory it created empty stores there and confirmed
    /// "erased Customer/ada" with exit 0, while the subject's data stayed where it was.</summary>
    [Fact]
    public async Task Erase_on_a_directory_without_nv_data_exits_2_and_confirms_nothing()
    {
        using var dir = new TempDirectory("cli-noerase");
        var master = Path.Combine(dir.Path, "master.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var missing = Path.Combine(dir.Path, "mistyped");

        var run = await NvProcess.RunAsync(missing, new Dictionary<string, string> { ["NV_MASTER_KEY_FILE"] = master }, Timeout,
            "erase", "--dto-type", "Customer", "--entity-id", "ada", "--reason", "ticket 9");

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains("no Nv data", Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        Assert.False(Directory.Exists(missing), "erase created " + missing);
    }

    /// <summary>Fails without EncryptionStartup.CheckErasure in EraseCommand: each of these erasures was refused only by the
    /// pipeline, after the host had started (boot replay, service-start audit entries) and before it stopped (a signed
    /// checkpoint, saved watermarks): exit 2, but the data directory had changed and stderr held the host's log. The
    /// "ITEM" case (another spelling of the stored type Item) fails without the case check in CheckErasure the same way: it
    /// needs the store, which CheckErasure now reads without opening it (SqliteDbWriter.CheckDtoType before the store opens).</summary>
    [Theory]
    [InlineData(false, "encryption at rest is off", "--dto-type", "Item", "--entity-id", "e-1", "--reason", "ticket 9")]
    [InlineData(true, "differs only in case from the stored type 'Item'", "--dto-type", "ITEM", "--entity-id", "e-1", "--reason", "ticket 9")]
    [InlineData(true, "dtoType", "--dto-type", "1bad", "--entity-id", "e-1", "--reason", "ticket 9")]
    [InlineData(true, "entityId", "--dto-type", "Item", "--entity-id", "a/b", "--reason", "ticket 9")]
    [InlineData(true, "reason", "--dto-type", "Item", "--entity-id", "e-1", "--reason", " ")]
    [InlineData(true, "requestId", "--dto-type", "Item", "--entity-id", "e-1", "--reason", "ticket 9", "--request-id", "a b")]
    public async Task Erase_with_bad_input_exits_2_with_one_line_and_leaves_the_data_directory_untouched(bool encrypted, string expected, params string[] args)
    {
        using var dir = new TempDirectory("cli-erasebad");
        using var keys = new TempDirectory("cli-erasebad-keys");
        await LoadAsync(dir.Path, 20);
        var master = Path.Combine(keys.Path, "master.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var env = encrypted ? new Dictionary<string, string> { ["NV_MASTER_KEY_FILE"] = master } : null;
        var before = DataDirectoryScan.Hashes(dir.Path);

        var run = await NvProcess.RunAsync(dir.Path, env, Timeout, ["erase", .. args]);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Equal(before, DataDirectoryScan.Hashes(dir.Path));
        var line = Assert.Single(run.Stderr);
        Assert.StartsWith("nv: error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task An_empty_time_range_is_bad_usage_not_zero_entries()
    {
        using var dir = new TempDirectory("cli-range");
        var run = await Nv(dir.Path, "audit", "query", "--from", "2030-01-01T00:00:00Z", "--to", "2020-01-01T00:00:00Z");
        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains("--from must be before --to", Assert.Single(run.Stderr), StringComparison.Ordinal);
    }

    /// <summary>Fails without the console filter in NvHostFactory: the generic host logged "Hosting failed to start" with a
    /// 40-line stack trace before nv's own line.</summary>
    [Fact]
    public async Task A_second_host_on_a_locked_directory_fails_with_one_line_and_no_stack_trace()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("cli-locked");
        using var first = await NvServer.StartAsync(dir.Path, null, null, ct);
        Assert.True(await first.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), first.Process.Describe());

        foreach (var command in new[] { "serve", "replay" })
        {
            var second = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string> { ["NV_URLS"] = "http://127.0.0.1:0" }, Timeout, command);

            Assert.True(second.ExitCode == 1, second.Describe());
            var line = Assert.Single(second.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
            Assert.Contains("in use by another process", line, StringComparison.Ordinal);
            Assert.DoesNotContain(second.Stderr, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Contains("[ERR]", StringComparison.Ordinal));
        }

        await first.StopAsync(ct);
    }

    [Fact]
    public async Task Keys_hash_prints_the_sha256_of_the_key()
    {
        using var dir = new TempDirectory("cli-keys");
        var run = await Nv(dir.Path, "keys", "hash", "secret");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", Assert.Single(run.Stdout));
    }

    [Fact]
    public async Task Serve_without_keys_refuses_a_non_loopback_address_with_one_line()
    {
        using var dir = new TempDirectory("cli-serve");
        var run = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string> { ["NV_URLS"] = "http://0.0.0.0:0" }, Timeout, "serve");
        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains(run.Stderr, l => l.StartsWith("nv: error: no API keys are configured", StringComparison.Ordinal));
    }

    /// <summary>Two ways past the old check (it read NV_URLS with Uri, and only NV_URLS): a host Uri reads as 127.0.0.1
    /// but Kestrel as a name (so every interface), and a Kestrel endpoint from the environment, which overrides NV_URLS.
    /// The real <c>nv serve</c> refuses both, in one line, exit 2, before it opens a store; and nothing listens.</summary>
    [Theory]
    [InlineData("NV_URLS", "http://0.0.0.0@127.0.0.1:{port}")]
    [InlineData("Kestrel__Endpoints__x__Url", "http://0.0.0.0:{port}")]
    public async Task Serve_without_keys_refuses_an_address_kestrel_would_bind_beyond_loopback(string variable, string url)
    {
        using var dir = new TempDirectory("cli-serve-bypass");
        int port;
        using (var free = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            free.Start();
            port = ((System.Net.IPEndPoint)free.LocalEndpoint).Port;
        }

        var value = url.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var run = await NvProcess.RunAsync(dir.Path, new Dictionary<string, string> { [variable] = value }, Timeout, "serve");

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr, l => l.StartsWith("nv: error: ", StringComparison.Ordinal));
        Assert.Contains("no API keys are configured", line, StringComparison.Ordinal);
        Assert.Contains(value, line, StringComparison.Ordinal);
        Assert.DoesNotContain(run.Stderr, l => l.Contains("Now listening on", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "wal")), "nothing may be opened before the addresses are accepted");
    }

    private static int NextFrame(byte[] bytes, byte[] header, int from)
    {
        var found = bytes.AsSpan(from).IndexOf(header);
        return found < 0 ? -1 : from + found;
    }
}
