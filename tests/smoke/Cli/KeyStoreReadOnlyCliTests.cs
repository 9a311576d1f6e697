using System.Text.Json;
using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.Cli;

/// <summary>With encryption at rest, <c>nv audit query|history</c> read the data keys that open sealed entries, and
/// <c>nv keys stat</c> counts them, from the database (nv.db): opened read-only beside a possible live host, so they
/// migrate, create and write nothing there.</summary>
public sealed class KeyStoreReadOnlyCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private const string Secret = "Key-Store-Read-Only-7741";

    // nv.db was closed cleanly (no -wal file): a plain read-only connection, safe beside a host that starts meanwhile,
    // creates its empty -wal and -shm files, and reading audit.db through its -wal may update audit.db-shm. None holds data.
    private static readonly string[] SqliteFiles = ["nv.db-wal", "nv.db-shm", "audit.db-shm"];

    /// <summary>Fails without the read-only key store: audit query and history (through EncryptionStartup.OpenKeysAsync) and
    /// keys stat opened nv.db read-write, so an nv.db of an older schema version was migrated (its bytes changed) and each
    /// exited 0; keys stat also appended to logs/.</summary>
    [Theory]
    [InlineData("audit", "query", "--entity", "Customer/ada", "--json")]
    [InlineData("audit", "history", "Customer", "ada")]
    [InlineData("keys", "stat")]
    public async Task On_an_older_database_schema_it_exits_2_with_one_line_and_migrates_nothing(params string[] args)
    {
        using var keys = new TempDirectory("ks-ro-keys");
        using var dir = new TempDirectory("ks-ro-old");
        var env = await LoadAsync(dir.Path, keys.Path);
        var db = Path.Combine(dir.Path, "nv.db");
        OlderStoreSchemaCliTests.Execute(db, "UPDATE _nv_meta SET value = 4 WHERE key = 'schema_version'");
        var before = TreeSnapshot.Take(dir.Path, SqliteFiles);

        var run = await NvProcess.RunAsync(dir.Path, env, Timeout, args);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr, l => !l.Contains(" INF] ", StringComparison.Ordinal));
        Assert.StartsWith($"nv: error: The database {db} has schema version 4, older than this build's 5", line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        AssertUnchanged(dir.Path, before);
        Assert.Equal(4L, DataDirectoryScan.Scalar(db, "SELECT value FROM _nv_meta WHERE key = 'schema_version'"));
    }

    /// <summary>Fails without RequireDatabase in AuditStore: with NV_MASTER_KEY_FILE set and no nv.db, audit query created
    /// an empty nv.db (keys, schema) and exited 0, showing every sealed entry as erased (no key found = destroyed).</summary>
    [Fact]
    public async Task Without_the_database_audit_query_with_the_master_key_exits_2_and_creates_none()
    {
        using var keys = new TempDirectory("ks-ro-keys");
        using var dir = new TempDirectory("ks-ro-nodb");
        var env = await LoadAsync(dir.Path, keys.Path);
        File.Delete(Path.Combine(dir.Path, "nv.db"));
        var before = TreeSnapshot.Take(dir.Path);

        var run = await NvProcess.RunAsync(dir.Path, env, Timeout, "audit", "query", "--json");

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.Stderr);
        Assert.StartsWith("nv: error: no database at " + Path.Combine(dir.Path, "nv.db"), line, StringComparison.Ordinal);
        Assert.Contains("NV_MASTER_KEY_FILE", line, StringComparison.Ordinal);
        Assert.Empty(run.Stdout);
        var after = TreeSnapshot.Take(dir.Path);
        Assert.True(before.SequenceEqual(after), "the data directory changed:\n" + TreeSnapshot.Diff(before, after));
    }

    /// <summary>On the current schema they answer, with the plain text the keys open, and no file of the data directory
    /// changes (only SQLite's empty -wal/-shm files appear beside nv.db).</summary>
    [Fact]
    public async Task On_the_current_schema_they_answer_in_plain_text_and_change_no_file()
    {
        using var keys = new TempDirectory("ks-ro-keys");
        using var dir = new TempDirectory("ks-ro-cur");
        var env = await LoadAsync(dir.Path, keys.Path);
        var before = TreeSnapshot.Take(dir.Path, SqliteFiles);

        var query = await NvProcess.RunAsync(dir.Path, env, Timeout, "audit", "query", "--entity", "Customer/ada", "--json");
        Assert.True(query.ExitCode == 0, query.Describe());
        using (var page = JsonDocument.Parse(string.Join('\n', query.Stdout)))
        {
            Assert.Contains(Secret, Assert.Single(page.RootElement.GetProperty("entries").EnumerateArray()).GetRawText(), StringComparison.Ordinal);
        }

        var history = await NvProcess.RunAsync(dir.Path, env, Timeout, "audit", "history", "Customer", "ada");
        Assert.True(history.ExitCode == 0, history.Describe());
        Assert.Contains(Secret, string.Join('\n', history.Stdout), StringComparison.Ordinal);
        var stat = await NvProcess.RunAsync(dir.Path, env, Timeout, "keys", "stat");
        Assert.True(stat.ExitCode == 0, stat.Describe());
        Assert.Contains("1 assigned to 1 subjects", string.Join('\n', stat.Stdout), StringComparison.Ordinal);

        AssertUnchanged(dir.Path, before);
    }

    // One sealed entity written through the host: nv.db holds its data key, audit.db its sealed audit entry.
    private static async Task<Dictionary<string, string>> LoadAsync(string dataDir, string keysDir)
    {
        var ct = TestContext.Current.CancellationToken;
        var master = Path.Combine(keysDir, "master.key");
        global::Nv.Wal.Protection.FileMasterKeyProvider.CreateKeyFile(master);
        var env = new Dictionary<string, string> { ["NV_ENV"] = "smoke", ["NV_SERVICE"] = "smoke", ["NV_MASTER_KEY_FILE"] = master };
        using (var server = await NvServer.StartAsync(dataDir, env, null, ct))
        {
            Assert.True(await server.WaitReadyAsync(TimeSpan.FromSeconds(60), ct), server.Process.Describe());
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/entities/Customer/ada")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { name = Secret }),
            };
            request.Headers.Add("X-Request-Id", "w-ada");
            request.Headers.TryAddWithoutValidation("Prefer", "nv-ack=audited");
            using var response = await server.Client.SendAsync(request, ct);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
            await server.StopAsync(ct);
        }

        Assert.False(File.Exists(Path.Combine(dataDir, "nv.db-wal")), "the host left nv.db-wal: the test needs a cleanly closed nv.db");
        return env;
    }

    private static void AssertUnchanged(string dataDir, SortedDictionary<string, string> before)
    {
        var after = TreeSnapshot.Take(dataDir, SqliteFiles);
        Assert.True(before.SequenceEqual(after), "the data directory changed:\n" + TreeSnapshot.Diff(before, after));
        var wal = new FileInfo(Path.Combine(dataDir, "nv.db-wal"));
        Assert.True(!wal.Exists || wal.Length == 0, "nv.db-wal holds " + (wal.Exists ? wal.Length : 0) + " bytes");
    }
}
