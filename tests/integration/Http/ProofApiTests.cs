using System.Collections.Immutable;
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
    }
}
