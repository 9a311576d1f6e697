using System.Collections.Immutable;
using System.Net;
using Nv.Audit.Merkle;
using Nv.Integration.Tests.Support;
using Nv.Wal.Protection;

namespace Nv.Integration.Tests.Http;

/// <summary><c>DELETE /v1/subjects/{dtoType}/{entityId}</c> with encryption at rest on: the reason is required, the
/// subject's entity is gone, its audit history reads as erased (no plaintext in any response), every proof of its entries
/// still verifies, the trail verifies, a retry replays the first outcome and another subject is untouched.</summary>
public sealed class ErasureApiTests : IAsyncLifetime
{
    private const string Secret = "Hilda-Whitcher-http-8841";

    private readonly TempDirectory _keys = new();
    private NvTestApp _app = null!;

    public async ValueTask InitializeAsync()
    {
        var master = Path.Combine(_keys.Path, "master.key");
        FileMasterKeyProvider.CreateKeyFile(master);
        _app = await NvTestApp.StartAsync(null, "--Nv:Encryption:MasterKeyFile=" + master);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _keys.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> EraseAsync(string id, string? reason, string requestId,
        string dtoType = "Customer")
    {
        var request = NvTestApp.Request(HttpMethod.Delete, $"/v1/subjects/{dtoType}/{id}", requestId: requestId);
        if (reason is not null)
        {
            request.Headers.Add("X-Reason", reason);
        }

        var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), response);
    }

    private async Task<string> GetTextAsync(string path) =>
        await (await _app.SendAsync(HttpMethod.Get, path)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

    /// <summary>An erasure naming another spelling of a stored type found no keys (subjects are case-sensitive) and answered
    /// "erased" having destroyed nothing: refused before the WAL, as writes of that spelling are.</summary>
    [Fact]
    public async Task An_erasure_naming_another_spelling_of_a_stored_type_is_a_400_and_erases_nothing()
    {
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Customer", "case-1", """{"name":"x"}""")).StatusCode);
        var last = _app.Wal.LastLsn;

        var (status, body, _) = await EraseAsync("case-1", "gdpr", NvTestApp.NewRequestId(), dtoType: "customer");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("differs only in case", body, StringComparison.Ordinal);
        Assert.Equal(last, _app.Wal.LastLsn);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/v1/entities/Customer/case-1")).StatusCode);
    }

    /// <summary>Fails without the counts in the erasure's answer: the body said "erased" and nothing about what was
    /// destroyed, so an erasure that destroyed a key and an entity read like one that found nothing.</summary>
    [Fact]
    public async Task An_erasure_answers_how_many_keys_and_entities_it_destroyed_and_its_retry_answers_the_same()
    {
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Customer", "cnt-1", $$"""{"name":"{{Secret}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Put, "/v1/entities/Customer/cnt-1", """{"name":"x","n":2}""", NvTestApp.NewRequestId())).StatusCode);
        var requestId = NvTestApp.NewRequestId();

        var (status, body, first) = await EraseAsync("cnt-1", "ticket 18", requestId);
        first.Dispose();

        Assert.True(status == HttpStatusCode.OK, body);
        using (var json = System.Text.Json.JsonDocument.Parse(body))
        {
            Assert.Equal(1, json.RootElement.GetProperty("keysDestroyed").GetInt32()); // both writes sealed under the subject's one key
            Assert.Equal(1, json.RootElement.GetProperty("entitiesDeleted").GetInt32());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("detail").ValueKind);
        }

        var (again, retryBody, retry) = await EraseAsync("cnt-1", "ticket 18", requestId);
        using (retry)
        {
            Assert.Equal(HttpStatusCode.OK, again);
            Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
            Assert.Equal(body, retryBody); // the same answer, counts included (the keys are gone by now: read from the erasure's record)
        }
    }

    /// <summary>Fails without the counts and the detail: an erasure of a mistyped id (no key, no entity) answered "erased"
    /// like one that destroyed data.</summary>
    [Fact]
    public async Task An_erasure_that_finds_nothing_answers_zero_counts_and_says_so_and_is_still_audited()
    {
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Customer", "none-1", """{"name":"x"}""")).StatusCode);
        var requestId = NvTestApp.NewRequestId();

        var (status, body, first) = await EraseAsync("none-1x", "ticket 19", requestId);
        first.Dispose();

        Assert.True(status == HttpStatusCode.OK, body);
        using (var json = System.Text.Json.JsonDocument.Parse(body))
        {
            Assert.Equal("erased", json.RootElement.GetProperty("status").GetString());
            Assert.Equal(0, json.RootElement.GetProperty("keysDestroyed").GetInt32());
            Assert.Equal(0, json.RootElement.GetProperty("entitiesDeleted").GetInt32());
            Assert.StartsWith("Nothing was found to erase: Customer/none-1x has no data key and no live entity",
                json.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/v1/entities/Customer/none-1")).StatusCode); // untouched
        var audit = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entries?category=data-erasure&entityId=none-1x"));
        Assert.Single(audit.GetProperty("entries").EnumerateArray());

        var (again, retryBody, retry) = await EraseAsync("none-1x", "ticket 19", requestId);
        using (retry)
        {
            Assert.Equal(HttpStatusCode.OK, again);
            Assert.Equal(body, retryBody);
        }
    }

    /// <summary>Fails without the counts read from the erasure's record: a retry after a restart (answered from the stored
    /// request outcome, which keeps no counts) must answer what the first attempt did.</summary>
    [Fact]
    public async Task A_retry_after_a_restart_answers_the_first_attempts_counts()
    {
        using var dir = new TempDirectory();
        var master = "--Nv:Encryption:MasterKeyFile=" + Path.Combine(_keys.Path, "master.key");
        var requestId = NvTestApp.NewRequestId();
        string body;
        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false, null, master))
        {
            Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Customer", "rs-1", """{"name":"x"}""")).StatusCode);
            using var response = await app.Client.SendAsync(EraseRequest("rs-1", requestId), TestContext.Current.CancellationToken);
            body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            Assert.Contains("\"keysDestroyed\":1,\"entitiesDeleted\":1,", body, StringComparison.Ordinal);
        }

        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false, null, master))
        {
            using var response = await app.Client.SendAsync(EraseRequest("rs-1", requestId), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("true", response.Headers.GetValues("X-Nv-Replayed").Single());
            Assert.Equal(body, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        static HttpRequestMessage EraseRequest(string id, string requestId)
        {
            var request = NvTestApp.Request(HttpMethod.Delete, $"/v1/subjects/Customer/{id}", requestId: requestId);
            request.Headers.Add("X-Reason", "ticket 20");
            return request;
        }
    }

    /// <summary>Fails without the counts in the outcome lookup: <c>GET /v1/requests/{id}</c> of an erasure answered
    /// "applied" and nothing about what it destroyed, in this process (request-id cache) and after a restart (the stored
    /// request outcome, which keeps no counts).</summary>
    [Fact]
    public async Task The_outcome_of_an_erasure_carries_the_counts_its_answer_gave_also_after_a_restart()
    {
        using var dir = new TempDirectory();
        var master = "--Nv:Encryption:MasterKeyFile=" + Path.Combine(_keys.Path, "master.key");
        var (erased, nothing, written) = (NvTestApp.NewRequestId(), NvTestApp.NewRequestId(), NvTestApp.NewRequestId());
        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false, null, master))
        {
            Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Customer", "out-1", """{"name":"x"}""", written)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(EraseRequest("out-1", erased), TestContext.Current.CancellationToken)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(EraseRequest("out-1x", nothing), TestContext.Current.CancellationToken)).StatusCode);
            await AssertOutcomesAsync(app);
        }

        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false, null, master))
        {
            await AssertOutcomesAsync(app);
        }

        async Task AssertOutcomesAsync(NvTestApp app)
        {
            var outcome = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/requests/{erased}"));
            Assert.Equal(("applied", 1, 1), (outcome.GetProperty("status").GetString(), outcome.GetProperty("keysDestroyed").GetInt32(),
                outcome.GetProperty("entitiesDeleted").GetInt32()));
            Assert.Equal(System.Text.Json.JsonValueKind.Null, outcome.GetProperty("detail").ValueKind);

            outcome = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/requests/{nothing}"));
            Assert.Equal((0, 0), (outcome.GetProperty("keysDestroyed").GetInt32(), outcome.GetProperty("entitiesDeleted").GetInt32()));
            Assert.StartsWith("Nothing was found to erase: Customer/out-1x has no data key and no live entity",
                outcome.GetProperty("detail").GetString(), StringComparison.Ordinal);

            outcome = await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/requests/{written}"));
            Assert.Equal(System.Text.Json.JsonValueKind.Null, outcome.GetProperty("keysDestroyed").ValueKind); // not an erasure
        }

        static HttpRequestMessage EraseRequest(string id, string requestId)
        {
            var request = NvTestApp.Request(HttpMethod.Delete, $"/v1/subjects/Customer/{id}", requestId: requestId);
            request.Headers.Add("X-Reason", "ticket 21");
            return request;
        }
    }

    [Fact]
    public async Task An_erased_subject_is_gone_its_history_reads_as_erased_and_every_proof_still_verifies()
    {
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Customer", "ada", $$"""{"name":"{{Secret}}"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Put, "/v1/entities/Customer/ada", $$"""{"name":"{{Secret}}","n":2}""", NvTestApp.NewRequestId())).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Customer", "bob", """{"name":"Bob"}""")).StatusCode);
        Assert.Contains(Secret, await GetTextAsync("/v1/audit/entities/Customer/ada/history"), StringComparison.Ordinal); // opened with the key

        var (noReason, _, r0) = await EraseAsync("ada", null, NvTestApp.NewRequestId());
        r0.Dispose();
        Assert.Equal(HttpStatusCode.BadRequest, noReason);
        Assert.Equal(HttpStatusCode.OK, (await _app.SendAsync(HttpMethod.Get, "/v1/entities/Customer/ada")).StatusCode); // nothing written

        var requestId = NvTestApp.NewRequestId();
        var (status, body, r1) = await EraseAsync("ada", "ticket 17", requestId);
        r1.Dispose();
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Contains("\"erased\"", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.SendAsync(HttpMethod.Get, "/v1/entities/Customer/ada")).StatusCode);

        var history = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/entities/Customer/ada/history"));
        var entries = history.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.True(e.GetProperty("erased").GetBoolean()));
        Assert.DoesNotContain(Secret, await GetTextAsync("/v1/audit/entities/Customer/ada/history"), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, await GetTextAsync("/v1/audit/entries?entityId=ada&limit=100"), StringComparison.Ordinal);
        Assert.Contains("\"Bob\"", await GetTextAsync("/v1/audit/entities/Customer/bob/history"), StringComparison.Ordinal);

        foreach (var entry in entries)
        {
            var proof = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{entry.GetProperty("id").GetString()}/proof"));
            ImmutableArray<MerkleHash> path = [.. proof.GetProperty("path").EnumerateArray().Select(h => MerkleHash.FromHex(h.GetString()!))];
            Assert.True(MerkleProofVerifier.VerifyInclusion(
                MerkleHash.FromHex(proof.GetProperty("leafHash").GetString()!), proof.GetProperty("leafIndex").GetInt64(), proof.GetProperty("treeSize").GetInt64(),
                path.AsSpan(), MerkleHash.FromHex(proof.GetProperty("root").GetString()!)));
        }

        // Time travel to a moment the entity existed: its state was erased (410 erased), not "did not exist: deleted".
        var created = entries[^1].GetProperty("timestamp").GetString()!;
        using (var asOf = await _app.SendAsync(HttpMethod.Get, $"/v1/audit/entities/Customer/ada/as-of?at={Uri.EscapeDataString(created)}"))
        {
            var problem = await asOf.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Gone, asOf.StatusCode);
            Assert.Contains("problems/erased", problem, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, problem, StringComparison.Ordinal);
        }

        var verify = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, "/v1/audit/verify"));
        Assert.True(verify.GetProperty("isValid").GetBoolean(), verify.ToString());

        var (again, _, r2) = await EraseAsync("ada", "ticket 17", requestId);
        using (r2)
        {
            Assert.Equal(HttpStatusCode.OK, again);
            Assert.Equal("true", r2.Headers.GetValues("X-Nv-Replayed").Single());
        }
    }
}
