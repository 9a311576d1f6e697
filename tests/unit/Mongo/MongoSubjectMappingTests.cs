using Nv.DbWriter;
using Nv.Unit.Tests.Mongo.Fakes;
using Nv.Wal;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>The MongoDB writer's <c>_nv_subjects</c> mappings (encryption at rest with a subject taken from a payload
/// field) follow what was applied: a rejected write changes no entity's subject.</summary>
public sealed class MongoSubjectMappingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WalRecord Sealed(WalRecord record, string subject) => record with { Subject = subject, PayloadKeyId = Guid.CreateVersion7() };

    [Fact]
    public async Task A_rejected_create_or_delete_leaves_the_entitys_subject_as_it_was()
    {
        // Before the fix the mappings were written with the key assignments, before any outcome was decided: a create of
        // an existing order naming another customer moved the order to that customer (whose erasure then deleted it, while
        // the first customer's erasure missed it), and a delete refused by its precondition forgot the order's customer.
        await using var mongo = new FakeMongoWriter();
        var writer = mongo.Writer;
        Assert.Equal(ApplyStatus.Applied, (await writer.ApplyAsync([Sealed(Create(1, "o1", """{"customerId":"c1"}"""), "Customer/c1")], Ct)).Single().Status);
        Assert.Equal("Customer/c1", await writer.FindEntitySubjectAsync("Order", "o1", Ct));

        var rejected = await writer.ApplyAsync([Sealed(Create(2, "o1", """{"customerId":"c2"}"""), "Customer/c2")], Ct);
        Assert.Equal((ApplyStatus.Rejected, RejectReason.AlreadyExists), (rejected.Single().Status, rejected.Single().RejectReason));
        Assert.Equal("Customer/c1", await writer.FindEntitySubjectAsync("Order", "o1", Ct));

        var refusedDelete = Sealed(Delete(3, "o1"), "Customer/c1") with { ExpectedLsn = new Lsn(99) };
        Assert.Equal(ApplyStatus.Rejected, (await writer.ApplyAsync([refusedDelete], Ct)).Single().Status);
        Assert.Equal("Customer/c1", await writer.FindEntitySubjectAsync("Order", "o1", Ct));

        // What is applied still moves it: an update naming another customer, then a delete.
        Assert.Equal(ApplyStatus.Applied, (await writer.ApplyAsync([Sealed(Update(4, "o1", """{"customerId":"c2"}"""), "Customer/c2")], Ct)).Single().Status);
        Assert.Equal("Customer/c2", await writer.FindEntitySubjectAsync("Order", "o1", Ct));
        Assert.Equal(ApplyStatus.Applied, (await writer.ApplyAsync([Sealed(Delete(5, "o1"), "Customer/c2")], Ct)).Single().Status);
        Assert.Null(await writer.FindEntitySubjectAsync("Order", "o1", Ct));
    }

    [Theory]
    [InlineData("record-requests")]
    [InlineData("clear-pending")]
    public async Task A_crash_after_the_entity_writes_leaves_the_mapping_to_the_boot_replay(string step)
    {
        await using var mongo = new FakeMongoWriter();
        WalRecord[] wal = [Sealed(Create(1, "o1", """{"customerId":"c1"}"""), "Customer/c1")];
        mongo.Writer.FailBefore = s => s == step;
        Assert.Equal(ApplyStatus.Transient, (await mongo.Writer.ApplyAsync(wal, Ct)).Single().Status); // the process dies here

        await using var restarted = mongo.Reopen();
        var start = await restarted.GetResolvedThroughAsync(Ct);
        WalRecord[] rest = [.. wal.Where(r => r.Lsn > start)];
        if (rest.Length > 0)
        {
            Assert.All(await restarted.ApplyAsync(rest, Ct), r => Assert.NotEqual(ApplyStatus.Transient, r.Status));
        }

        Assert.Equal("Customer/c1", await restarted.FindEntitySubjectAsync("Order", "o1", Ct));
    }
}
