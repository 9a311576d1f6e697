using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Net;
using System.Text.Json;
using Nv.Audit.Merkle;

namespace Nv.Integration.Tests.Http;

public sealed class ProofApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static string Id() => Guid.NewGuid().ToString("N")[..12];

    private async Task<JsonElement> EntryForNewWriteAsync()
    {
        var requestId = NvTestApp.NewRequestId();
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Invoice", Id(), """{"total":42}""", requestId)).StatusCode);
        var page = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}"));
        return Assert.Single(page.GetProperty("entries").EnumerateArray());
    }

    private static ImmutableArray<MerkleHash> Path(JsonElement proof) =>
        [.. proof.GetProperty("path").EnumerateArray().Select(h => MerkleHash.FromHex(h.GetString()!))];

    [Fact]
    public async Task An_inclusion_proof_verifies_against_its_root_and_the_signed_checkpoint_names_that_root()
    {
        var entry = await EntryForNewWriteAsync();
        var response = await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{entry.GetProperty("id").GetString()}/proof");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var proof = await NvTestApp.JsonAsync(response);

        var leaf = MerkleHash.FromHex(proof.GetProperty("leafHash").GetString()!);
        var root = MerkleHash.FromHex(proof.GetProperty("root").GetString()!);
        var index = proof.GetProperty("leafIndex").GetInt64();
        var size = proof.GetProperty("treeSize").GetInt64();
        Assert.True(MerkleProofVerifier.VerifyInclusion(leaf, index, size, Path(proof).AsSpan(), root));
        Assert.False(MerkleProofVerifier.VerifyInclusion(leaf, index, size, Path(proof).AsSpan(), MerkleHasher.EmptyRoot));

        var checkpoint = SignedCheckpoint.Parse(proof.GetProperty("checkpoint").GetString()!);
        Assert.Equal(size, checkpoint.Checkpoint.TreeSize);
        Assert.Equal(root, checkpoint.Checkpoint.RootHash);
    }

    [Fact]
    public async Task A_consistency_proof_links_an_older_tree_to_a_newer_one()
    {
        var first = await EntryForNewWriteAsync();
        var chain = first.GetProperty("service").GetString()!;
        var fromSize = first.GetProperty("sequence").GetInt64();
        var last = await EntryForNewWriteAsync();
        var toSize = last.GetProperty("sequence").GetInt64();

        var proof = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/chains/{chain}/consistency?from={fromSize}&to={toSize}"));

        var fromRoot = MerkleHash.FromHex(proof.GetProperty("fromRoot").GetString()!);
        var toRoot = MerkleHash.FromHex(proof.GetProperty("toRoot").GetString()!);
        Assert.True(MerkleProofVerifier.VerifyConsistency(fromSize, toSize, fromRoot, toRoot, Path(proof).AsSpan()));
        Assert.False(MerkleProofVerifier.VerifyConsistency(fromSize, toSize, toRoot, fromRoot, Path(proof).AsSpan()));
    }

    [Fact]
    public async Task A_consistency_proof_over_HTTP_verifies_between_the_roots_of_two_signed_checkpoints_whose_signatures_verify_with_the_public_key()
    {
        // Checkpoint 1: signed while the proof of a first entry is asked for; then more entries; checkpoint 2 likewise.
        var first = await EntryForNewWriteAsync();
        var older = Signed(await ProofAsync(first));
        await EntryForNewWriteAsync();
        var last = await EntryForNewWriteAsync();
        var newer = Signed(await ProofAsync(last));
        Assert.True(newer.Size > older.Size, $"the second checkpoint ({newer.Size}) must cover more entries than the first ({older.Size})");

        // Both signatures verify with the store's public key, with plain .NET ECDSA (not Nv's verifier): the body is the
        // first six lines plus a newline, the signature a DER ECDSA P-256 / SHA-256 one (docs/audit-merkle.md).
        using var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(System.IO.Path.Combine(_app.DataDirectory, "audit-signing-key.pub.pem"), TestContext.Current.CancellationToken));
        Assert.True(SignatureVerifies(key, older.Text), older.Text);
        Assert.True(SignatureVerifies(key, newer.Text), newer.Text);
        var forged = older.Text.Replace($"size: {older.Size}", $"size: {older.Size + 1}", StringComparison.Ordinal);
        Assert.False(SignatureVerifies(key, forged));

        // The consistency proof served over HTTP links the two signed roots (not the roots the proof response names).
        var chain = first.GetProperty("service").GetString()!;
        var proof = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get,
            $"/v1/audit/chains/{chain}/consistency?from={older.Size}&to={newer.Size}"));
        Assert.True(MerkleProofVerifier.VerifyConsistency(older.Size, newer.Size, older.Root, newer.Root, Path(proof).AsSpan()));
        Assert.False(MerkleProofVerifier.VerifyConsistency(older.Size, newer.Size, newer.Root, older.Root, Path(proof).AsSpan()));

        // And the first entry's inclusion proof at the newer size verifies against the newer signed root.
        var inclusion = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get,
            $"/v1/audit/entries/{first.GetProperty("id").GetString()}/proof?treeSize={newer.Size}"));
        Assert.True(MerkleProofVerifier.VerifyInclusion(MerkleHash.FromHex(inclusion.GetProperty("leafHash").GetString()!),
            inclusion.GetProperty("leafIndex").GetInt64(), newer.Size, Path(inclusion).AsSpan(), newer.Root));
    }

    private async Task<JsonElement> ProofAsync(JsonElement entry) =>
        await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{entry.GetProperty("id").GetString()}/proof"));

    // The signed checkpoint a proof response carries: its text, size and root, read from the text itself.
    private static (string Text, long Size, MerkleHash Root) Signed(JsonElement proof)
    {
        var text = proof.GetProperty("checkpoint").GetString()!;
        var fields = text.Split('\n').Skip(1).Take(5).Select(l => l.Split(": ", 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        return (text, long.Parse(fields["size"], System.Globalization.CultureInfo.InvariantCulture), MerkleHash.FromBytes(Convert.FromBase64String(fields["root"])));
    }

    private static bool SignatureVerifies(ECDsa key, string text)
    {
        var lines = text.Split('\n');
        var body = System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines[..6]) + "\n");
        var signature = Convert.FromBase64String(lines[7]["signature: ".Length..]);
        return key.VerifyData(body, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    [Fact]
    public async Task The_latest_checkpoint_is_served_as_its_signed_text()
    {
        var entry = await EntryForNewWriteAsync();
        await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{entry.GetProperty("id").GetString()}/proof");
        var response = await _app.SendAsync(HttpMethod.Get, $"/v1/audit/chains/{entry.GetProperty("service").GetString()}/checkpoint");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith("nv-audit-checkpoint/v1", text, StringComparison.Ordinal);
        Assert.NotNull(SignedCheckpoint.Parse(text));
    }

    [Fact]
    public async Task Bad_or_unknown_proof_requests_are_problems()
    {
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entries/not-a-uuid/proof"), 400, "validation");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{Guid.NewGuid()}/proof"), 404, "not-found");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/chains/nv/consistency?from=1"), 400, "validation");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/chains/nv/consistency?from=x&to=2"), 400, "validation");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/chains/no-such-chain/checkpoint"), 404, "not-found");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/chains/no-such-chain/consistency?from=0&to=0"), 404, "not-found");
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/chains/no-such-chain/consistency?from=1&to=2"), 404, "not-found");
    }

    /// <summary>Each name asked about used to be loaded and kept in the store's chain cache (4 queries under the write gate,
    /// memory that only a rollback freed, one more chain for the periodic checkpointer to visit), and /consistency answered
    /// 200 with empty-tree roots for a chain that does not exist.</summary>
    [Fact]
    public async Task Asking_about_chains_that_do_not_exist_answers_404_and_caches_nothing()
    {
        var entry = await EntryForNewWriteAsync();
        var chain = entry.GetProperty("service").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, $"/v1/audit/chains/{chain}/consistency?from=1&to=1")).StatusCode);
        var sink = Assert.IsType<Nv.Audit.Sqlite.SqliteAuditSink>(_app.Audit);
        var cached = sink.CachedChainCount;
        Assert.True(cached > 0);

        var names = Enumerable.Range(0, 20).Select(_ => "ghost-" + Id()).ToList();
        foreach (var name in names)
        {
            await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/chains/{name}/checkpoint"), 404, "not-found");
        }

        Assert.Equal(cached, sink.CachedChainCount);
        foreach (var name in names)
        {
            await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/chains/{name}/consistency?from=0&to=0"), 404, "not-found");
        }

        Assert.Equal(cached, sink.CachedChainCount);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, $"/v1/audit/chains/{chain}/consistency?from=1&to=1")).StatusCode);
    }
}
