using System.Security.Cryptography;
using MongoDB.Bson;
using Nv.Audit;
using Nv.Audit.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;

namespace Nv.Unit.Tests.Mongo;

/// <summary>One MongoDB audit trail, several processes with data directories of their own (a host, an operator's CLI on a
/// bastion host): only a key the trail lists in <c>audit_signing_keys</c>, or one given explicitly to a host, signs; a
/// read-only or keyless process proves against the stored checkpoints and writes nothing; everyone verifies with the listed
/// keys.</summary>
public sealed class MongoAuditSigningKeyTests : IDisposable
{
    private const string Database = "nv_audit";
    private const string Checkpoints = "audit_checkpoints";
    private const string SigningKeys = "audit_signing_keys";

    private readonly FakeMongoServer _server = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "nv-mongo-keys-" + Guid.NewGuid().ToString("N"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Fails without the trail's signing keys in the MongoDB sink: B resolved a key of its own (generating
    /// audit-signing-key.pem into its data directory) and, asked for the proof of an entry A's newest checkpoint did not
    /// cover, signed and stored a checkpoint with it, which A's verification then reported as KeyMismatch, for ever.</summary>
    [Fact]
    public async Task A_process_without_the_trails_key_never_signs_into_the_shared_trail()
    {
        await using var a = Sink("a");
        var entries = Entries(5);
        await a.AppendAsync(entries[..3], Ct);
        var signed = Assert.Single(await a.CheckpointAllAsync(Ct));
        await a.AppendAsync(entries[3..], Ct); // appended after A's newest checkpoint

        await using var b = Sink("b"); // a host process, or a tool, on another machine: no key given, none on its disk
        var uncovered = (await b.GetInclusionProofAsync(entries[4].Id, null, Ct))!;
        Assert.Null(uncovered.Checkpoint);
        Assert.Equal(5, uncovered.TreeSize);
        Assert.True(uncovered.Verify());
        Assert.Equal(signed, (await b.GetInclusionProofAsync(entries[1].Id, null, Ct))!.Checkpoint);
        var refused = await Assert.ThrowsAsync<AuditSigningKeyException>(() => b.CheckpointAllAsync(Ct));
        Assert.Contains(signed.Checkpoint.KeyId, refused.Message, StringComparison.Ordinal);

        Assert.Single(_server.Documents(Database, Checkpoints));
        Assert.Single(_server.Documents(Database, SigningKeys));
        Assert.False(File.Exists(Path.Combine(_root, "b", "audit-signing-key.pem")));
        var byA = await a.VerifyAsync(null, Ct);
        Assert.True(byA.IsValid, byA.Reason);
        var byB = await b.VerifyAsync(null, Ct); // verifies anywhere, with the listed key
        Assert.True(byB.IsValid, byB.Reason);
        Assert.Equal(1, byB.CheckpointsChecked);
    }

    /// <summary>Fails without ReadOnly in the MongoDB sink: the read-only opening created indexes, stored Merkle leaves and
    /// resolved a signing key (none on its disk: it failed, where a writable one generated a key and signed).</summary>
    [Fact]
    public async Task A_read_only_process_proves_and_verifies_with_the_listed_keys_and_writes_nothing()
    {
        await using var a = Sink("a");
        var entries = Entries(4);
        await a.AppendAsync(entries[..2], Ct);
        var signed = Assert.Single(await a.CheckpointAllAsync(Ct));
        await a.AppendAsync(entries[2..], Ct);
        var before = Snapshot();
        var operations = _server.Operations.Count;

        await using var reader = Sink("reader", o => o.ReadOnly = true);
        Assert.Equal(signed, (await reader.GetInclusionProofAsync(entries[0].Id, null, Ct))!.Checkpoint);
        Assert.Null((await reader.GetInclusionProofAsync(entries[3].Id, null, Ct))!.Checkpoint);
        var verified = await reader.VerifyAsync(null, Ct);
        Assert.True(verified.IsValid, verified.Reason);
        await Assert.ThrowsAsync<InvalidOperationException>(() => reader.CheckpointAllAsync(Ct));

        Assert.All(_server.Operations.Skip(operations), o => Assert.True(o.Kind is "find" or "distinct" or "command:hello", o.ToString()));
        Assert.Equal(before, Snapshot());
        Assert.False(Directory.Exists(Path.Combine(_root, "reader")));
    }

    /// <summary>A tool (SignWithHostKeyOnly) signs only with a listed key; a host given a new key explicitly lists it before it
    /// signs, so the other processes' verification keeps passing across the change.</summary>
    [Fact]
    public async Task A_tool_signs_only_with_a_listed_key_and_a_host_given_a_new_key_lists_it()
    {
        await using var a = Sink("a");
        var entries = Entries(3);
        await a.AppendAsync(entries[..1], Ct);
        Assert.Single(await a.CheckpointAllAsync(Ct));

        await using (var tool = Sink("tool", o => o.SignWithHostKeyOnly = true))
        {
            await a.AppendAsync(entries[1..2], Ct);
            var missing = await Assert.ThrowsAsync<AuditSigningKeyException>(() => tool.CheckpointAllAsync(Ct));
            Assert.Contains("as the host does", missing.Message, StringComparison.Ordinal);
        }

        var stray = KeyFile("stray.pem");
        await using (var tool = Sink("tool", o => { o.SignWithHostKeyOnly = true; o.SigningKeyPath = stray; }))
        {
            await Assert.ThrowsAsync<AuditSigningKeyException>(() => tool.CheckpointAllAsync(Ct)); // given, but not the host's
        }

        Assert.Single(_server.Documents(Database, Checkpoints));
        Assert.Single(_server.Documents(Database, SigningKeys));

        var rotated = KeyFile("rotated.pem");
        await using (var host = Sink("host", o => o.SigningKeyPath = rotated))
        {
            Assert.Single(await host.CheckpointAllAsync(Ct)); // a host given a key explicitly: listed, then signs
        }

        await a.AppendAsync(entries[2..], Ct);
        await using (var tool = Sink("tool", o => { o.SignWithHostKeyOnly = true; o.SigningKeyPath = rotated; }))
        {
            Assert.Single(await tool.CheckpointAllAsync(Ct)); // the listed key: a tool may sign with it
        }

        Assert.Equal(2, _server.Documents(Database, SigningKeys).Count);
        var result = await a.VerifyAsync(null, Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(3, result.CheckpointsChecked);
    }

    /// <summary>A trail signed before the list existed: the key of its newest checkpoint (here generated into A's data
    /// directory) goes on signing and is listed; a host with a key of its own generates none and signs nothing.</summary>
    [Fact]
    public async Task A_trail_signed_before_the_list_keeps_the_key_of_its_newest_checkpoint()
    {
        await using (var old = Sink("a"))
        {
            await old.AppendAsync(Entries(2), Ct);
            Assert.Single(await old.CheckpointAllAsync(Ct));
        }

        var listed = Assert.Single(_server.Documents(Database, SigningKeys));
        _server.Drop(Database, SigningKeys); // as an earlier version left it: no list

        await using (var other = Sink("b"))
        {
            await other.AppendAsync(Entries(1), Ct);
            await Assert.ThrowsAsync<AuditSigningKeyException>(() => other.CheckpointAllAsync(Ct));
            Assert.False(File.Exists(Path.Combine(_root, "b", "audit-signing-key.pem")));
        }

        await using var a = Sink("a");
        Assert.Single(await a.CheckpointAllAsync(Ct));
        Assert.Equal(listed["_id"], Assert.Single(_server.Documents(Database, SigningKeys))["_id"]);
        var result = await a.VerifyAsync(null, Ct);
        Assert.True(result.IsValid, result.Reason);
    }

    /// <summary>A tool that runs the pipeline (SignWithHostKeyIfAvailable: nv replay, nv erase) in a shell without the trail's
    /// key appends and signs nothing: no key generated on a new trail, a key of its own neither listed nor used, and the
    /// refusal is AuditSigningKeyException (so the host's start records the trail's key as unchanged). With a listed key it
    /// signs. Fails without the option in the MongoDB sink: the tool generated a key on the new trail, listed and signed
    /// with it.</summary>
    [Fact]
    public async Task A_pipeline_tool_without_a_listed_key_appends_and_signs_nothing()
    {
        var entries = Entries(4);
        await using (var tool = Sink("tool", o => o.SignWithHostKeyIfAvailable = true))
        {
            await tool.AppendAsync(entries[..1], Ct); // a new trail: only a host generates its first key
            await Assert.ThrowsAsync<AuditSigningKeyException>(() => tool.CheckpointAllAsync(Ct));
            await Assert.ThrowsAsync<AuditSigningKeyException>(() => tool.GetPublicKeyPemAsync(Ct));
        }

        Assert.False(File.Exists(Path.Combine(_root, "tool", "audit-signing-key.pem")));
        Assert.Empty(_server.Documents(Database, SigningKeys));
        Assert.Empty(_server.Documents(Database, Checkpoints));

        await using var a = Sink("a");
        Assert.Single(await a.CheckpointAllAsync(Ct)); // the host generates and lists its key; the checkpoint covers the tool's entry
        var stray = KeyFile("stray.pem");
        await using (var tool = Sink("tool", o => { o.SignWithHostKeyIfAvailable = true; o.SigningKeyPath = stray; }))
        {
            await tool.AppendAsync(entries[1..3], Ct);
            await Assert.ThrowsAsync<AuditSigningKeyException>(() => tool.CheckpointAllAsync(Ct)); // given, but not listed
        }

        Assert.Single(_server.Documents(Database, SigningKeys));
        Assert.Single(_server.Documents(Database, Checkpoints));

        var hostKey = Path.Combine(_root, "a", "audit-signing-key.pem");
        await using (var tool = Sink("tool", o => { o.SignWithHostKeyIfAvailable = true; o.SigningKeyPath = hostKey; }))
        {
            await tool.AppendAsync(entries[3..], Ct);
            Assert.Single(await tool.CheckpointAllAsync(Ct)); // the listed key signs
        }

        Assert.Single(_server.Documents(Database, SigningKeys));
        var result = await a.VerifyAsync(null, Ct);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(2, result.CheckpointsChecked);
    }

    // A sink over the shared fake database with a data directory of its own; no checkpoint is signed by count or time.
    private MongoAuditSink Sink(string name, Action<AuditOptions>? configure = null)
    {
        var options = new AuditOptions
        {
            MongoUri = "mongodb://fake/",
            MongoDatabase = Database,
            DataDirectory = Path.Combine(_root, name),
            CheckpointEveryEntries = 0,
            CheckpointInterval = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return new MongoAuditSink(options, _server.Database(Database));
    }

    private string KeyFile(string name)
    {
        Directory.CreateDirectory(_root);
        var path = Path.Combine(_root, name);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    // Every collection of the audit database with its documents, as JSON.
    private SortedDictionary<string, string> Snapshot() => new(
        _server.CollectionNames(Database).ToDictionary(c => c, c => string.Join("\n", _server.Documents(Database, c).Select(d => d.ToJson()))),
        StringComparer.Ordinal);

    private static List<AuditEntry> Entries(int count) =>
        [.. Enumerable.Range(1, count).Select(i => AuditEntryFactory.SystemEvent("orders", "test-event", "test", $"event {i}",
            new Dictionary<string, string> { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }, TimeProvider.System))];
}
