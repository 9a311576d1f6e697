using System.Collections.Concurrent;
using System.Diagnostics;
using Nv.Host.Diagnostics;
using Nv.Host.Pipeline;
using Nv.Unit.Tests.Pipeline;

namespace Nv.Unit.Tests.Diagnostics;

/// <summary>The <c>Nv</c> activity source: one activity per write with its append span as a child, and one span per batch
/// for the group commit, the apply and the audit, each linked to every write it carried; nothing when nobody listens.</summary>
/// <remarks>Only this class listens to the <c>Nv</c> source in this test assembly, and its tests run one after another,
/// so the no-listener test really has none. Other classes' writes may be recorded meanwhile: each test looks only at the
/// activities of its own request ids.</remarks>
public sealed class WriteTracingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Each_write_has_an_activity_and_the_batch_spans_link_to_every_write_they_carried()
    {
        using var recorder = new SpanRecorder();
        await using var h = new PipelineHarness(ack: AckLevel.Audited);
        h.Pipeline.Start();
        var prefix = "trace-" + Guid.NewGuid().ToString("N")[..8] + "-";

        // Concurrent writes, so group commit batches some of them together.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            h.Pipeline.WriteAsync(PipelineHarness.Create(prefix + i, "e" + i), Ct)));

        var writes = recorder.Where(a => a.OperationName == NvActivities.WriteName && Tag(a, NvActivities.RequestIdTag)?.StartsWith(prefix, StringComparison.Ordinal) == true);
        Assert.Equal(16, writes.Count);
        foreach (var write in writes)
        {
            var requestId = Tag(write, NvActivities.RequestIdTag)!;
            var outcome = Assert.Single(outcomes, o => o.RequestId == requestId);
            Assert.Equal("Item", Tag(write, NvActivities.DtoTypeTag));
            Assert.Equal("e" + requestId[prefix.Length..], Tag(write, NvActivities.EntityIdTag));
            Assert.Equal(outcome.Lsn.Value, write.GetTagItem(NvActivities.LsnTag));
            Assert.Equal("applied", Tag(write, NvActivities.StatusTag));

            var append = Assert.Single(recorder.Where(a => a.OperationName == NvActivities.AppendName && a.ParentSpanId == write.SpanId));
            Assert.Equal(write.TraceId, append.TraceId);
            Assert.Equal(outcome.Lsn.Value, append.GetTagItem(NvActivities.LsnTag));
        }

        var writeContexts = writes.Select(w => w.SpanId).ToHashSet();
        foreach (var stage in new[] { NvActivities.FlushName, NvActivities.ApplyName, NvActivities.AuditName })
        {
            // The flush span ends on the flush's continuation; it may be recorded a moment after the callers were answered.
            await WritePipelineTests.WaitUntil(() => Covered(recorder, stage, writeContexts).Count == writeContexts.Count);
            var spans = recorder.Where(a => a.OperationName == stage && a.Links.Any(l => writeContexts.Contains(l.Context.SpanId)));
            Assert.Equal(writeContexts, Covered(recorder, stage, writeContexts));
            foreach (var span in spans)
            {
                // A child of the batch's first write, linked to each write in the batch (the batching shows as links).
                Assert.Contains(span.ParentSpanId, span.Links.Select(l => l.Context.SpanId));
                Assert.Equal(span.Links.Count(), (int)span.GetTagItem(NvActivities.BatchSizeTag)!);
                Assert.True((long)span.GetTagItem(NvActivities.LsnTag)! >= (long)span.GetTagItem(NvActivities.FirstLsnTag)!);
            }

            Assert.True(spans.Count <= 16, $"{stage}: at most one span per batch");
        }
    }

    [Fact]
    public async Task A_write_activity_is_a_child_of_the_callers_current_activity()
    {
        using var recorder = new SpanRecorder();
        using var callerSource = new ActivitySource("Nv.Unit.Tests.Caller");
        await using var h = new PipelineHarness(ack: AckLevel.Applied);
        h.Pipeline.Start();
        var requestId = "trace-parent-" + Guid.NewGuid().ToString("N");

        ActivityTraceId traceId;
        ActivitySpanId spanId;
        using (var caller = callerSource.StartActivity("handle-request"))
        {
            Assert.NotNull(caller);
            (traceId, spanId) = (caller.TraceId, caller.SpanId);
            await h.Pipeline.WriteAsync(PipelineHarness.Create(requestId, "p1"), Ct);
            Assert.Same(caller, Activity.Current); // the write's activity does not leak into the caller's flow
        }

        var write = Assert.Single(recorder.Where(a => a.OperationName == NvActivities.WriteName && Tag(a, NvActivities.RequestIdTag) == requestId));
        Assert.Equal(traceId, write.TraceId);
        Assert.Equal(spanId, write.ParentSpanId);
    }

    [Fact]
    public async Task Without_a_listener_no_activity_is_created_and_writes_still_succeed()
    {
        Assert.False(NvActivities.Source.HasListeners(), "another listener to the Nv source is active in this test process");
        Assert.Null(NvActivities.StartWrite(PipelineHarness.Create("x", "y"), AckLevel.Applied));
        await using var h = new PipelineHarness(ack: AckLevel.Audited);
        h.Pipeline.Start();
        var outcome = await h.Pipeline.WriteAsync(PipelineHarness.Create("untraced-" + Guid.NewGuid().ToString("N"), "u1"), Ct);
        Assert.Equal(WriteStatus.Applied, outcome.Status);
    }

    [Fact]
    public void The_source_is_named_Nv()
    {
        Assert.Equal("Nv", NvTelemetry.ActivitySourceName);
        Assert.Equal(NvTelemetry.ActivitySourceName, NvActivities.Source.Name);
    }

    private static HashSet<ActivitySpanId> Covered(SpanRecorder recorder, string stage, HashSet<ActivitySpanId> writes) =>
        recorder.Where(a => a.OperationName == stage)
            .SelectMany(a => a.Links.Select(l => l.Context.SpanId))
            .Where(writes.Contains)
            .ToHashSet();

    private static string? Tag(Activity activity, string name) => activity.GetTagItem(name) as string;

    /// <summary>Records every stopped activity of the <c>Nv</c> source.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivityListener _listener;

        public SpanRecorder()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name is NvTelemetry.ActivitySourceName or "Nv.Unit.Tests.Caller",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => _stopped.Enqueue(a),
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> Where(Func<Activity, bool> predicate) => _stopped.Where(predicate).ToList();

        public void Dispose() => _listener.Dispose();
    }
}
