using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;

namespace Nv.Unit.Tests.Mongo;

/// <summary>A MongoDB trail's list of signing keys (<c>audit_signing_keys</c>) lives in the database it vouches for: a
/// verification that had to trust it says so.</summary>
public sealed class MongoAuditListedKeysTests : IDisposable
{
    private const string Database = "nv_audit";

    private readonly FakeMongoServer _server = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "nv-mongo-listed-keys-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private MongoAuditSink Sink(string name, bool readOnly = false) => new(new AuditOptions
    {
        MongoUri = "mongodb://fake/",
        MongoDatabase = Database,
        DataDirectory = Path.Combine(_root, name),
        CheckpointEveryEntries = 0,
        CheckpointInterval = TimeSpan.Zero,
        ReadOnly = readOnly,
    }, _server.Database(Database));

    private static AuditEntry Event(int n) => AuditEntryFactory.SystemEvent("orders", "test-event", "test", $"event {n}",
        new Dictionary<string, string> { ["n"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture) }, TimeProvider.System);

    /// <summary>Fails without the warning: a shell without the host's key verified the trail against the keys the trail
    /// lists, which anyone who can write the audit database can add, and reported a plain pass.</summary>
    [Fact]
    public async Task A_pass_that_rests_on_the_trails_own_key_list_says_so_and_one_with_the_key_given_does_not()
    {
        await using var host = Sink("host");
        await host.AppendAsync([Event(1), Event(2)], Ct);
        var signed = Assert.Single(await host.CheckpointAllAsync(Ct));
        var hostKey = await host.GetPublicKeyPemAsync(Ct);

        await using var shell = Sink("shell", readOnly: true);
        var listed = await shell.VerifyAsync(null, Ct);
        Assert.True(listed.IsValid, listed.Reason);
        var warning = Assert.Single(listed.Warnings);
        Assert.Contains(signed.Checkpoint.KeyId, warning, StringComparison.Ordinal);
        Assert.Contains("audit_signing_keys", warning, StringComparison.Ordinal);

        var given = await shell.VerifyAsync(new AuditVerifyOptions { PublicKeyPem = hostKey }, Ct);
        Assert.True(given.IsValid, given.Reason);
        Assert.Empty(given.Warnings);

        var own = await host.VerifyAsync(null, Ct); // the host holds the key itself
        Assert.True(own.IsValid, own.Reason);
        Assert.Empty(own.Warnings);
    }
}
