using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Nv.Integration.Tests.Http;

/// <summary>Idempotency over HTTP: <c>Idempotency-Key</c> as another name for <c>X-Request-Id</c>, 422 on a reused key,
/// replays of PATCH after other writes, and request ids scoped to the caller.</summary>
public sealed class IdempotencyApiTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Id() => Guid.NewGuid().ToString("N")[..12];

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(method == HttpMethod.Patch ? "application/merge-patch+json" : "application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await _app.Client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task The_same_request_id_on_another_entity_is_422_and_writes_nothing()
    {
        // The issue: POST /Item/b with the id already used for /Item/a answered 201, Location /Item/b, with a's ETag.
        var (a, b, key) = (Id(), Id(), NvTestApp.NewRequestId());
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Item", a, """{"v":1}""", key)).StatusCode);
        var before = _app.Wal.LastLsn;

        var reused = await _app.CreateAsync("Item", b, """{"v":1}""", key);

        var problem = await NvTestApp.AssertProblemAsync(reused, 422, "idempotency-key-reused");
        Assert.Contains($"create Item/{a}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(reused.Headers.Contains("Location"));
        Assert.Equal(before, _app.Wal.LastLsn);
        await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{b}"), 404, "not-found");

        var changedBody = await _app.CreateAsync("Item", a, """{"v":2}""", key);
        await NvTestApp.AssertProblemAsync(changedBody, 422, "idempotency-key-reused");
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task Idempotency_key_is_another_name_for_the_request_id_quoted_or_bare()
    {
        var (id, key) = (Id(), NvTestApp.NewRequestId());
        var first = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{id}", """{"v":1}""", ("Idempotency-Key", $"\"{key}\""));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(key, (await NvTestApp.JsonAsync(first)).GetProperty("requestId").GetString());
        var before = _app.Wal.LastLsn;

        var bare = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{id}", """{"v":1}""", ("Idempotency-Key", key));
        var asRequestId = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{id}", """{"v":1}""", ("X-Request-Id", key));
        var both = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{id}", """{"v":1}""", ("X-Request-Id", key), ("Idempotency-Key", $"\"{key}\""));

        foreach (var retry in new[] { bare, asRequestId, both })
        {
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
            Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        }

        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task Different_x_request_id_and_idempotency_key_are_a_400()
    {
        var before = _app.Wal.LastLsn;
        var response = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{Id()}", """{"v":1}""",
            ("X-Request-Id", NvTestApp.NewRequestId()), ("Idempotency-Key", NvTestApp.NewRequestId()));

        var problem = await NvTestApp.AssertProblemAsync(response, 400, "validation");
        Assert.Equal("Idempotency-Key", problem.GetProperty("field").GetString());
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    /// <summary>The batch endpoint never checked the two headers against each other: it applied the batch under the
    /// X-Request-Id and ignored the Idempotency-Key.</summary>
    [Fact]
    public async Task A_batch_with_different_x_request_id_and_idempotency_key_is_a_400_and_writes_nothing()
    {
        var id = Id();
        var before = _app.Wal.LastLsn;
        var response = await SendAsync(HttpMethod.Post, "/v1/batch", $$$"""{"items":[{"op":"create","dtoType":"Item","entityId":"{{{id}}}","payload":{"v":1}}]}""",
            ("X-Request-Id", NvTestApp.NewRequestId()), ("Idempotency-Key", $"\"{NvTestApp.NewRequestId()}\""));

        var problem = await NvTestApp.AssertProblemAsync(response, 400, "validation");
        Assert.Equal("Idempotency-Key", problem.GetProperty("field").GetString());
        Assert.Equal(before, _app.Wal.LastLsn);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_patch_retried_after_other_writes_replays_its_first_outcome_instead_of_patching_again()
    {
        var id = Id();
        await _app.CreateAsync("Item", id, """{"balance":100,"note":"x"}""");
        var key = NvTestApp.NewRequestId();
        var patch = await SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"balance":50}""", ("X-Request-Id", key));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var put = await SendAsync(HttpMethod.Put, $"/v1/entities/Item/{id}", """{"balance":70,"note":"y"}""", ("X-Request-Id", NvTestApp.NewRequestId()));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var before = _app.Wal.LastLsn;

        var retry = await SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"balance":50}""", ("X-Request-Id", key));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        Assert.Equal(patch.Headers.ETag?.Tag, retry.Headers.ETag?.Tag);
        Assert.Equal(before, _app.Wal.LastLsn);
        var doc = await NvTestApp.JsonAsync(await _app.SendAsync(HttpMethod.Get, $"/v1/entities/Item/{id}"));
        Assert.Equal(70, doc.GetProperty("balance").GetInt32());

        var otherPatch = await SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"balance":51}""", ("X-Request-Id", key));
        await NvTestApp.AssertProblemAsync(otherPatch, 422, "idempotency-key-reused");
    }

    [Fact]
    public async Task A_conditional_patch_retried_after_it_was_applied_replays_its_first_outcome_instead_of_a_412()
    {
        // The first attempt moved the entity past the version its If-Match names; its retry (the answer was lost) must
        // get that first outcome, not "precondition failed" for a patch that in fact succeeded.
        var id = Id();
        var created = await _app.CreateAsync("Item", id, """{"balance":100}""");
        var etag = created.Headers.ETag!.Tag;
        var key = NvTestApp.NewRequestId();
        var patch = await SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"balance":50}""", ("X-Request-Id", key), ("If-Match", etag));
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var before = _app.Wal.LastLsn;

        var retry = await SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"balance":50}""", ("X-Request-Id", key), ("If-Match", etag));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues("X-Nv-Replayed").Single());
        Assert.Equal(patch.Headers.ETag?.Tag, retry.Headers.ETag?.Tag);
        Assert.Equal(before, _app.Wal.LastLsn);

        // Another request with the same stale If-Match is still refused.
        var stale = await SendAsync(HttpMethod.Patch, $"/v1/entities/Item/{id}", """{"balance":40}""", ("X-Request-Id", NvTestApp.NewRequestId()), ("If-Match", etag));
        await NvTestApp.AssertProblemAsync(stale, 412, "precondition-failed");
        Assert.Equal(before, _app.Wal.LastLsn);
    }

    [Fact]
    public async Task Request_ids_are_scoped_to_the_caller()
    {
        var key = NvTestApp.NewRequestId();
        var (a, b) = (Id(), Id());
        var alice = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{a}", """{"v":1}""", ("X-Request-Id", key), ("X-User-Id", "alice"));
        var bob = await SendAsync(HttpMethod.Post, $"/v1/entities/Item/{b}", """{"v":2}""", ("X-Request-Id", key), ("X-User-Id", "bob"));

        Assert.Equal(HttpStatusCode.Created, alice.StatusCode);
        Assert.Equal(HttpStatusCode.Created, bob.StatusCode);
        Assert.False(bob.Headers.Contains("X-Nv-Replayed"));

        var aliceStatus = await SendAsync(HttpMethod.Get, $"/v1/requests/{key}", null, ("X-User-Id", "alice"));
        Assert.Equal(HttpStatusCode.OK, aliceStatus.StatusCode);
        Assert.Equal(alice.Headers.ETag?.Tag, $"\"{(await NvTestApp.JsonAsync(aliceStatus)).GetProperty("lsn").GetInt64()}\"");
        await NvTestApp.AssertProblemAsync(await SendAsync(HttpMethod.Get, $"/v1/requests/{key}", null, ("X-User-Id", "carol")), 404, "not-found");
    }
}
