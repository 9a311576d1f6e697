using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Nv.Audit;

namespace Nv.Integration.Tests.Http;

/// <summary>The API endpoints the audit explorer added: <c>GET /v1/me</c>, <c>GET /v1/audit/entries/{id}/leaf</c> and
/// <c>GET /v1/ops/status</c>.</summary>
public sealed class UiApiTests(KeyedAppFixture fixture) : IClassFixture<KeyedAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static string Id() => Guid.NewGuid().ToString("N")[..12];

    private Task<HttpResponseMessage> GetAsync(string path, string? key, string? requestId = null) =>
        _app.Client.SendAsync(KeyedRequest(path, key, requestId), TestContext.Current.CancellationToken);

    private static HttpRequestMessage KeyedRequest(string path, string? key, string? requestId)
    {
        var request = NvTestApp.Request(HttpMethod.Get, path, requestId: requestId);
        if (key is not null)
        {
            request.Headers.Authorization = new("Bearer", key);
        }

        return request;
    }

    private async Task<JsonElement> WriteAsync(HttpMethod method, string path, string json)
    {
        var response = await _app.SendAsync(method, path, json, NvTestApp.NewRequestId(), KeyedAppFixture.Secret("writer"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return await NvTestApp.JsonAsync(response);
    }

    [Fact]
    public async Task Me_names_the_key_and_its_roles_and_asks_for_a_key_when_none_is_sent()
    {
        foreach (var (name, roles) in KeyedAppFixture.Roles)
        {
            var me = await NvTestApp.JsonAsync(await GetAsync("/v1/me", KeyedAppFixture.Secret(name)));
            Assert.Equal(name, me.GetProperty("user").GetString());
            Assert.Equal(roles.Order(StringComparer.Ordinal), me.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
            Assert.True(me.GetProperty("authenticated").GetBoolean());
        }

        var anonymous = await GetAsync("/v1/me", null);
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        var body = await NvTestApp.JsonAsync(anonymous);
        Assert.True(body.GetProperty("keysRequired").GetBoolean());
        Assert.False(body.GetProperty("authenticated").GetBoolean());
        Assert.Empty(body.GetProperty("roles").EnumerateArray());
    }

    [Fact]
    public async Task Me_with_an_unknown_key_is_a_401_audited_like_every_other()
    {
        var requestId = NvTestApp.NewRequestId();
        var response = await GetAsync("/v1/me", "not-a-key", requestId);
        var problem = await NvTestApp.AssertProblemAsync(response, 401, "unauthenticated");
        var serverId = problem.GetProperty("requestId").GetString();
        Assert.NotEqual(requestId, serverId); // an unauthenticated caller does not name its entry
        var page = await _app.Audit.QueryAsync(new AuditQuery { RequestId = serverId, Category = AuditCategory.Authentication },
            TestContext.Current.CancellationToken);
        var entry = Assert.Single(page.Entries);
        Assert.Equal(requestId, entry.Metadata["claimedRequestId"]);
        Assert.StartsWith("key-sha256:", entry.EntityId, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-key", JsonSerializer.Serialize(entry), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_leaf_keeps_absent_and_null_apart_and_carries_the_encoding_and_wal_record_hash()
    {
        var id = Id();
        await WriteAsync(HttpMethod.Post, $"/v1/entities/Leafy/{id}", """{"a":null,"b":1,"n":10.50}""");
        await WriteAsync(HttpMethod.Put, $"/v1/entities/Leafy/{id}", """{"a":1,"n":10.50,"c":"x"}""");
        var history = await NvTestApp.JsonAsync(await GetAsync($"/v1/audit/entities/Leafy/{id}/history", KeyedAppFixture.Secret("auditor")));
        var entryId = history.GetProperty("entries")[0].GetProperty("id").GetString();

        var leaf = await NvTestApp.JsonAsync(await GetAsync($"/v1/audit/entries/{entryId}/leaf", KeyedAppFixture.Secret("auditor")));
        Assert.Equal(2, leaf.GetProperty("encoding").GetInt32());
        Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$"), leaf.GetProperty("timestamp").GetString());
        Assert.Matches(new Regex("^[0-9a-f]{64}$"), leaf.GetProperty("walRecordHash").GetString());
        Assert.Equal("""{"a":null,"b":1,"n":10.5}""", leaf.GetProperty("before").GetString()); // numbers in Nv's one form (docs/json-numbers.md)
        var changes = leaf.GetProperty("changes").EnumerateArray().ToDictionary(c => c.GetProperty("path").GetString()!);
        Assert.Equal("null", changes["/a"].GetProperty("before").GetString()); // a JSON null that existed
        Assert.Equal("1", changes["/a"].GetProperty("after").GetString());
        Assert.False(changes["/b"].TryGetProperty("after", out _)); // removed: no after side at all
        Assert.False(changes["/c"].TryGetProperty("before", out _)); // added: no before side at all

        // It is the entry the Merkle tree holds: its canonical bytes hash to the proof's leaf.
        var stored = await _app.Audit.GetAsync(Guid.Parse(entryId!), TestContext.Current.CancellationToken);
        var proof = await NvTestApp.JsonAsync(await GetAsync($"/v1/audit/entries/{entryId}/proof", KeyedAppFixture.Secret("auditor")));
        Nv.Audit.Chain.AuditHash.Compute(stored!, new System.Buffers.ArrayBufferWriter<byte>(), out var leafHash);
        Assert.Equal(proof.GetProperty("leafHash").GetString(), leafHash.ToHex());
        Assert.Equal(stored!.Hash, leaf.GetProperty("hash").GetString());
    }

    [Fact]
    public async Task The_leaf_needs_the_auditor_role_and_a_known_uuid()
    {
        await NvTestApp.AssertProblemAsync(await GetAsync($"/v1/audit/entries/{Guid.NewGuid()}/leaf", KeyedAppFixture.Secret("reader")), 403, "forbidden");
        await NvTestApp.AssertProblemAsync(await GetAsync($"/v1/audit/entries/{Guid.NewGuid()}/leaf", null), 401, "unauthenticated");
        await NvTestApp.AssertProblemAsync(await GetAsync("/v1/audit/entries/nope/leaf", KeyedAppFixture.Secret("auditor")), 400, "validation");
        await NvTestApp.AssertProblemAsync(await GetAsync($"/v1/audit/entries/{Guid.NewGuid()}/leaf", KeyedAppFixture.Secret("auditor")), 404, "not-found");
    }

    [Fact]
    public async Task Ops_status_reports_wal_positions_lags_and_the_chain_for_operators_only()
    {
        var write = await WriteAsync(HttpMethod.Post, $"/v1/entities/Opsy/{Id()}", """{"a":1}""");
        var lsn = write.GetProperty("lsn").GetInt64();
        var written = Assert.Single((await _app.Audit.QueryAsync(new AuditQuery { RequestId = write.GetProperty("requestId").GetString() },
            TestContext.Current.CancellationToken)).Entries);
        await NvTestApp.AssertProblemAsync(await GetAsync("/v1/ops/status", KeyedAppFixture.Secret("auditor")), 403, "forbidden");

        var status = await NvTestApp.JsonAsync(await GetAsync("/v1/ops/status", KeyedAppFixture.Secret("operator")));
        Assert.True(status.GetProperty("ready").GetBoolean());
        var wal = status.GetProperty("wal");
        Assert.Equal("open", wal.GetProperty("state").GetString());
        Assert.True(wal.GetProperty("lastLsn").GetInt64() >= lsn);
        Assert.True(wal.GetProperty("durableLsn").GetInt64() >= lsn);
        // Lags are measured against what the stages have committed (in memory), not the stores' last durable points.
        var applied = status.GetProperty("applied").GetInt64();
        var audited = status.GetProperty("audited").GetInt64();
        Assert.InRange(applied, wal.GetProperty("appliedLsn").GetInt64(), wal.GetProperty("durableLsn").GetInt64());
        Assert.InRange(audited, wal.GetProperty("auditedLsn").GetInt64(), applied);
        Assert.Equal(Math.Max(0, wal.GetProperty("durableLsn").GetInt64() - applied), status.GetProperty("applyLag").GetInt64());
        Assert.Equal(Math.Max(0, applied - audited), status.GetProperty("auditLag").GetInt64());
        var chain = Assert.Single(status.GetProperty("chains").EnumerateArray());
        Assert.Equal("nv", chain.GetProperty("chain").GetString());
        var newest = await _app.Audit.QueryAsync(new AuditQuery { Service = "nv", Limit = 1000 }, TestContext.Current.CancellationToken);
        Assert.InRange(chain.GetProperty("size").GetInt64(), written.Sequence, newest.Entries.Max(e => e.Sequence));
        Assert.True(DateTimeOffset.UtcNow - status.GetProperty("time").GetDateTimeOffset() < TimeSpan.FromMinutes(1));
    }
}
