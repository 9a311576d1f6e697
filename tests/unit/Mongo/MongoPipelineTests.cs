using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Host.Http;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Unit.Tests.Pipeline;
using Nv.Unit.Tests.Support;
using Nv.Wal;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 items 4 and 6 through the real pipeline: numbers are normalized before the WAL append, what the
/// configured writer cannot store is refused there (400/413, nothing written), and a record the MongoDB writer must
/// reject at apply time is answered as a rejection (422) without stopping the writes after it.</summary>
public sealed class MongoPipelineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WriteRequest Request(string requestId, string entityId, string json, WalOperation operation = WalOperation.Create) => new()
    {
        RequestId = requestId,
        Operation = operation,
        DtoType = "Order",
        EntityId = entityId,
        Payload = JsonDocument.Parse(json).RootElement.Clone(),
        UserId = "u1",
    };

    private sealed class MongoPipeline : IAsyncDisposable
    {
        public MongoPipeline()
        {
            var options = Options.Create(new PipelineOptions
            {
                Environment = "test",
                Service = "svc",
                MaxPayloadBytes = 16 * 1024 * 1024,
                InitialRetryDelay = TimeSpan.FromMilliseconds(10),
                MaxRetryDelay = TimeSpan.FromMilliseconds(50),
                AuditBackfillInterval = TimeSpan.FromHours(1),
            });
            Coordinator = new AuditCoordinator(Wal, Mongo.Writer, Audit, new FakeLogger<AuditCoordinator>());
            Pipeline = new WritePipeline(Wal, Mongo.Writer, Coordinator, options, new FakeLogger<WritePipeline>());
            Pipeline.Start();
        }

        public InMemoryWal Wal { get; } = new();

        public FakeMongoWriter Mongo { get; } = new();

        public InMemoryAuditSink Audit { get; } = new();

        public AuditCoordinator Coordinator { get; }

        public WritePipeline Pipeline { get; }

        public async ValueTask DisposeAsync()
        {
            await Pipeline.DisposeAsync();
            Coordinator.Dispose();
            await Mongo.DisposeAsync();
        }
    }

    [Fact]
    public async Task Numbers_reach_the_wal_the_store_and_the_audit_trail_in_canonical_form()
    {
        await using var h = new PipelineHarness();
        h.Pipeline.Start();

        var outcome = await h.Pipeline.WriteAsync(PipelineHarness.Create("r1", "e1") with
        {
            Payload = JsonDocument.Parse("""{"a":1E5,"b":1.50,"c":[-0.0,100E-2],"s":"1E5"}""").RootElement.Clone(),
        }, Ct);

        Assert.Equal(WriteStatus.Applied, outcome.Status);
        const string canonical = """{"a":100000,"b":1.5,"c":[0,1],"s":"1E5"}""";
        Assert.Equal(canonical, h.Wal.Records.Single().Payload.GetRawText());
        Assert.Equal(canonical, h.Audit.Entries.Single().After!.Value.GetRawText());
    }

    /// <summary>Runs <paramref name="body"/> on a started pipeline, failing (not hanging) if it or the shutdown waits on a
    /// record retried forever.</summary>
    private static async Task WithPipelineAsync(Func<MongoPipeline, Task> body)
    {
        var h = new MongoPipeline();
        try
        {
            await body(h).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        }
        finally
        {
            await h.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
        }
    }

    [Fact]
    public Task What_mongodb_cannot_store_is_refused_before_the_wal_append() => WithPipelineAsync(async h =>
    {

        var number = await Assert.ThrowsAsync<WriteValidationException>(() =>
            h.Pipeline.WriteAsync(Request("r1", "e1", """{"n":12345678901234567890123456789012345}"""), Ct));
        Assert.StartsWith("payload", number.Field, StringComparison.Ordinal);
        Assert.False(number.IsTooLarge);

        var large = "{\"a\":[" + string.Join(",", Enumerable.Repeat("1", 1_500_000)) + "]}";
        var tooLarge = await Assert.ThrowsAsync<WriteValidationException>(() => h.Pipeline.WriteAsync(Request("r2", "e2", large), Ct));
        Assert.True(tooLarge.IsTooLarge);

        Assert.Empty(h.Wal.Records);
        Assert.Equal(WriteStatus.Applied, (await h.Pipeline.WriteAsync(Request("r3", "e3", """{"n":1}"""), Ct)).Status);
    });

    [Fact]
    public Task A_record_rejected_at_apply_time_is_answered_as_such_and_the_writes_after_it_apply() => WithPipelineAsync(async h =>
    {
        h.Mongo.Server.RefuseDocument = (collection, document) =>
            collection == "Order" && document["_id"] == "bad" ? (121, "Document failed validation") : null;

        var rejected = await h.Pipeline.WriteAsync(Request("r1", "bad", """{"n":1}"""), Ct);
        var next = await h.Pipeline.WriteAsync(Request("r2", "good", """{"n":2}"""), Ct);

        Assert.Equal(WriteStatus.Rejected, rejected.Status);
        Assert.Equal(RejectReason.Unstorable, rejected.RejectReason);
        Assert.Equal(WriteStatus.Applied, next.Status);

        var result = WriteResults.From(new DefaultHttpContext(), rejected, WalOperation.Create, "Order", "bad", clientPrecondition: false);
        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(StatusCodes.Status422UnprocessableEntity, problem.StatusCode);
        Assert.Equal("https://nv.dev/problems/unstorable", problem.ProblemDetails.Type);
    });
}
