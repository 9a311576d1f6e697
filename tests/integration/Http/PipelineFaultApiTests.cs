using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Pipeline;

namespace Nv.Integration.Tests.Http;

/// <summary>Only the pipeline's own refusals are answered as such: an InvalidOperationException from anywhere below a
/// write is a fault (500 with a generic body, the detail only in the log), not a retryable 503 not-ready carrying its
/// message; a PipelineUnavailableException reaching the last line of defence is the 503 not-ready it means.</summary>
public sealed class PipelineFaultApiTests
{
    private const string Marker = "MARKER-internal-state-7f31";

    private static Task<NvTestApp> StartAsync() => NvTestApp.StartAsync(null, builder => ServiceProxy<IWritePipeline>.Install(builder.Services, new()
    {
        [nameof(IWritePipeline.WriteAsync)] = (_, _) => Task.FromException<WriteOutcome>(new InvalidOperationException(Marker + ": a bug, not a refusal")),
        [nameof(IWritePipeline.WriteBatchAsync)] = (_, _) => Task.FromException<BatchOutcome>(new InvalidOperationException(Marker + ": a bug, not a refusal")),
        [nameof(IWritePipeline.GetOutcomeAsync)] = (_, _) => Task.FromException<WriteOutcome?>(
            new PipelineUnavailableException("Nv is not ready: boot replay has not finished.", null)),
    }));

    private static async Task AssertInternalAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        await NvTestApp.AssertProblemAsync(response, 500, "internal");
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
        Assert.Null(response.Headers.RetryAfter);
        Assert.True(response.Headers.CacheControl is { NoStore: true }, "a 500 written by ErrorMiddleware lacks Cache-Control: no-store");
    }

    [Fact]
    public async Task An_unexpected_InvalidOperationException_from_a_write_is_a_500_without_its_message()
    {
        await using var app = await StartAsync();

        await AssertInternalAsync(await app.CreateAsync("Fault", "f-1", """{"a":1}"""));
        await AssertInternalAsync(await app.SendAsync(HttpMethod.Put, "/v1/entities/Fault/f-1", """{"a":1}""", NvTestApp.NewRequestId()));
    }

    [Fact]
    public async Task An_unexpected_InvalidOperationException_from_a_batch_is_a_500_without_its_message()
    {
        await using var app = await StartAsync();

        await AssertInternalAsync(await app.SendAsync(HttpMethod.Post, "/v1/batch",
            """{"items":[{"op":"create","dtoType":"Fault","entityId":"b-1","payload":{"a":1}}]}""", NvTestApp.NewRequestId()));
    }

    [Fact]
    public async Task The_pipelines_own_not_ready_refusal_outside_a_write_handler_is_a_503_not_ready()
    {
        await using var app = await StartAsync();

        var response = await app.SendAsync(HttpMethod.Get, "/v1/requests/r-1");

        var problem = await NvTestApp.AssertProblemAsync(response, 503, "not-ready");
        Assert.Contains("boot replay", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
