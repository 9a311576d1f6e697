using Nv.Audit;

namespace Nv.Unit.Tests.Pipeline;

/// <summary>System entries (denials above all) share the audit writer: concurrent ones are stored together, each caller
/// still answered only once its entry is stored, and a cancelled caller neither loses nor leaves another's entry.</summary>
public sealed class SystemEntryBatchingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Denials_queued_behind_a_busy_writer_are_stored_with_one_append()
    {
        await using var h = new PipelineHarness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Audit.AppendGate = gate.Task;
        var first = h.Coordinator.RecordSystemAsync(Denial(0), Ct); // holds the writer, stuck in its append
        await WaitUntil(() => h.Audit.BatchSizes.Count == 0 && !first.IsCompleted);

        var flood = Enumerable.Range(1, 50).Select(i => h.Coordinator.RecordSystemAsync(Denial(i), Ct)).ToArray();
        await Task.Delay(100, Ct);
        Assert.All(flood, t => Assert.False(t.IsCompleted)); // nobody is answered before its entry is stored
        h.Audit.AppendGate = null;
        gate.SetResult();
        await Task.WhenAll(flood.Append(first)).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(51, h.Audit.Entries.Count);
        Assert.Equal([1, 50], h.Audit.BatchSizes); // one append (and one durable point) for the whole flood, not 50
    }

    [Fact]
    public async Task A_caller_cancelled_while_waiting_leaves_nothing_and_the_others_are_stored()
    {
        await using var h = new PipelineHarness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Audit.AppendGate = gate.Task;
        var first = h.Coordinator.RecordSystemAsync(Denial(0), Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var cancelled = Denial(1);
        var gaveUp = h.Coordinator.RecordSystemAsync(cancelled, cancel.Token);
        var kept = h.Coordinator.RecordSystemAsync(Denial(2), Ct);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);

        h.Audit.AppendGate = null;
        gate.SetResult();
        await Task.WhenAll(first, kept).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(2, h.Audit.Entries.Count);
        Assert.DoesNotContain(h.Audit.Entries, e => e.Id == cancelled.Id);
    }

    /// <summary>Found by a review: the shared append ran on its taker's token, so one aborted denial request cancelled the
    /// append for everyone and dropped its own, already appended, entry. Only the wait for the writer is cancellable.</summary>
    [Fact]
    public async Task A_caller_cancelled_while_its_batch_is_appended_still_has_every_entry_stored()
    {
        await using var h = new PipelineHarness();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Audit.AppendGate = gate.Task;
        var first = h.Coordinator.RecordSystemAsync(Denial(0), Ct);
        await Task.Delay(50, Ct);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var taker = h.Coordinator.RecordSystemAsync(Denial(1), cancel.Token); // next in line for the writer
        await Task.Delay(50, Ct);
        var queued = Enumerable.Range(2, 5).Select(i => h.Coordinator.RecordSystemAsync(Denial(i), Ct)).ToArray();
        await Task.Delay(50, Ct);

        var secondGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Audit.AppendGate = secondGate.Task; // the taker's append (of all six queued entries) gets stuck
        gate.SetResult();
        await first.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await Task.Delay(100, Ct);
        await cancel.CancelAsync(); // while its batch is in the store's append
        await Task.Delay(50, Ct);
        Assert.False(taker.IsCompleted); // answered only once its entry is stored
        h.Audit.AppendGate = null;
        secondGate.SetResult();
        await Task.WhenAll(queued.Append(taker)).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(Enumerable.Range(0, 7).Select(i => Ids[i]).Order(), h.Audit.Entries.Select(e => e.Id).Order());
        Assert.Equal([1, 6], h.Audit.BatchSizes);
    }

    private static readonly Guid[] Ids = [.. Enumerable.Range(0, 64).Select(_ => Guid.NewGuid())];

    private static AuditEntry Denial(int i) =>
        AuditEntryFactory.AuthenticationFailed("svc", "req-" + i, "anonymous", "no API key presented", TimeProvider.System,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["path"] = "/v1/x" }) with { Id = Ids[i] };

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(10, Ct);
        }
    }
}
