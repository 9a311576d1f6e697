using System.Net;

namespace Nv.Integration.Tests.Http;

/// <summary>The scoped audit routes read what their path names: a query parameter naming it again (another entity,
/// request or user, another category than an entity's changes) is a 400, never applied over the path.</summary>
public sealed class ScopedAuditRouteTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    [Theory]
    [InlineData("/v1/audit/entities/Scoped/{id}/history?dtoType=Other", "dtoType")]
    [InlineData("/v1/audit/entities/Scoped/{id}/history?entityId=someone-else", "entityId")]
    [InlineData("/v1/audit/entities/Scoped/{id}/history?EntityId=someone-else", "entityId")]
    [InlineData("/v1/audit/entities/Scoped/{id}/history?category=authentication", "category")]
    [InlineData("/v1/audit/requests/{request}?requestId=another-request", "requestId")]
    [InlineData("/v1/audit/users/{user}/activity?userId=another-user", "userId")]
    public async Task A_parameter_that_would_override_the_path_is_refused(string template, string field)
    {
        var (id, request, user) = await WriteAsync();
        var path = template.Replace("{id}", id, StringComparison.Ordinal).Replace("{request}", request, StringComparison.Ordinal)
            .Replace("{user}", user, StringComparison.Ordinal);

        var problem = await NvTestApp.AssertProblemAsync(await _app.SendAsync(HttpMethod.Get, path), 400, "validation");

        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Parameters_that_narrow_a_scoped_route_still_work()
    {
        var (id, request, user) = await WriteAsync();

        foreach (var path in new[]
        {
            $"/v1/audit/entities/Scoped/{id}/history?limit=5&order=asc&operation=create",
            $"/v1/audit/requests/{request}?limit=5",
            $"/v1/audit/users/{user}/activity?category=entity-mutation&dtoType=Scoped",
        })
        {
            var response = await _app.SendAsync(HttpMethod.Get, path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(1, (await NvTestApp.JsonAsync(response)).GetProperty("entries").GetArrayLength());
        }
    }

    // One entity written once (audited acks in these tests), by its own user, under its own request id.
    private async Task<(string Id, string RequestId, string UserId)> WriteAsync()
    {
        var id = Guid.NewGuid().ToString("N");
        var requestId = NvTestApp.NewRequestId();
        var user = "u-" + id[..8];
        using var request = NvTestApp.Request(HttpMethod.Post, $"/v1/entities/Scoped/{id}", """{"a":1}""", requestId);
        request.Headers.Add("X-User-Id", user);
        Assert.Equal(HttpStatusCode.Created, (await _app.Client.SendAsync(request, TestContext.Current.CancellationToken)).StatusCode);
        return (id, requestId, user);
    }
}
