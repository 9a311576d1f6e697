using Nv.Host.Pipeline;

namespace Nv.Unit.Tests.Pipeline;

/// <summary><see cref="PendingWrite.Placed"/> is made only when someone asks for it: it must tell the first placement
/// whichever comes first, the question or the placement, also when both race.</summary>
public sealed class PendingWritePlacedTests
{
    private static PendingWrite Write() => new(PipelineHarness.Create("r", "e"));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_first_placement_is_told_whether_it_comes_before_or_after_the_question(bool appended)
    {
        var before = Write();
        before.MarkPlaced(appended);
        before.MarkPlaced(!appended); // only the first counts
        Assert.Equal(appended, await before.Placed);

        var after = Write();
        var placed = after.Placed;
        Assert.False(placed.IsCompleted);
        after.MarkPlaced(appended);
        after.MarkPlaced(!appended);
        Assert.Equal(appended, await placed.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Same(placed, after.Placed);
    }

    [Fact]
    public async Task A_question_racing_the_placement_is_always_answered()
    {
        for (var i = 0; i < 20_000; i++)
        {
            var write = Write();
            using var start = new Barrier(2);
            var asking = Task.Run(() =>
            {
                start.SignalAndWait(TestContext.Current.CancellationToken);
                return write.Placed; // unwrapped: the task completes with the placement
            }, TestContext.Current.CancellationToken);
            start.SignalAndWait(TestContext.Current.CancellationToken);
            write.MarkPlaced(true);
            Assert.True(await asking.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken), $"iteration {i}");
        }
    }
}
