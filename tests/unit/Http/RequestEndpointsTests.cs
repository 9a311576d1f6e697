using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Http;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Http;

/// <summary><c>GET /v1/requests/{id}</c>'s answer: an unknown id is 404 only once boot replay finished.</summary>
public sealed class RequestEndpointsTests
{
    private static async Task<int> StatusOf(IResult result)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();
        await result.ExecuteAsync(context);
        return context.Response.StatusCode;
    }

    private static DefaultHttpContext Context() => new();

    [Fact]
    public async Task An_unknown_request_id_is_503_while_boot_replay_runs_and_404_after()
    {
        // A write answered 202 before a crash is unknown until boot replay applies it again: "never written" (404) then
        // would invite the client to write it once more under a new id.
        Assert.Equal(503, await StatusOf(RequestEndpoints.Answer(Context(), "r1", null, ready: false)));
        Assert.Equal(404, await StatusOf(RequestEndpoints.Answer(Context(), "r1", null, ready: true)));
    }

    [Fact]
    public async Task A_known_outcome_is_answered_even_while_boot_replay_runs()
    {
        var outcome = new WriteOutcome { RequestId = "r1", Status = WriteStatus.Applied, Lsn = new Lsn(7) };
        Assert.Equal(200, await StatusOf(RequestEndpoints.Answer(Context(), "r1", outcome, ready: false)));
    }
}
