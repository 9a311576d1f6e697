using Nv.DbWriter;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Reads do not wait behind a batch: the writer's gate guards its in-memory state, not MongoDB's collections.</summary>
public sealed class MongoReadsBesideBatchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Fails without the gateless reads: GetAsync and the resolution reads (the change feed's pages) waited for the
    /// gate a stuck batch held, up to twice the operation timeout (here a minute), then failed as transient.</summary>
    [Fact]
    public async Task Entity_and_resolution_reads_complete_while_a_batch_holds_the_writer()
    {
        await using var mongo = new FakeMongoWriter(o => o.MongoOperationTimeout = TimeSpan.FromSeconds(30));
        await mongo.Writer.ApplyAsync([Create(1, "a", """{"n":1}""")], Ct);

        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        mongo.Server.Before = op =>
        {
            if (op is { Kind: "insert" or "bulk", Collection: "_nv_resolutions" })
            {
                entered.Release();
                release.Wait(TimeSpan.FromMinutes(1)); // the server hangs inside the batch's first step
            }

            return null;
        };

        var batch = Task.Run(() => mongo.Writer.ApplyAsync([Create(2, "b")], Ct), Ct);
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(10), Ct), "the batch never reached the server");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var read = await mongo.Writer.GetAsync("Order", "a", timeout.Token);
            Assert.NotNull(read);
            Assert.Equal(new Lsn(1), read.Lsn);
            var resolutions = await mongo.Writer.GetResolutionsAsync(Lsn.None, 10, timeout.Token);
            Assert.Equal(1, Assert.Single(resolutions).Lsn.Value);
            Assert.Contains("req-1", (await mongo.Writer.FindByRequestIdsAsync(["req-1"], timeout.Token)).Keys);
        }
        finally
        {
            release.Set();
        }

        Assert.Equal(ApplyStatus.Applied, (await batch)[0].Status);
    }
}
