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

    private static readonly SubjectMappingRule OrderToCustomer = new()
    {
        DtoType = "Order",
        Rule = "Customer:customerId",
        Field = "customerId",
        SubjectOf = static payload => payload.TryGetProperty("customerId", out var id) ? "Customer/" + id.GetString() : null,
    };

    private static StoredDataKey Key() => new()
    {
        KeyId = Guid.CreateVersion7(),
        MasterKeyId = "mk-0011223344556677",
        WrappedKey = [1, 2, 3, 4],
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
    };

    private static WalRecord Own(WalRecord record, StoredDataKey key) => record with { Subject = "Order/" + record.EntityId, PayloadKeyId = key.KeyId };

    [Fact]
    public async Task Orders_stored_before_the_mapping_are_mapped_with_their_own_keys_and_a_crash_between_hand_over_and_mapping_is_finished_by_the_next_pass()
    {
        await using var mongo = new FakeMongoWriter();
        var writer = mongo.Writer;
        StoredDataKey[] keys = [Key(), Key(), Key(), Key()];
        await writer.AddKeysAsync(keys, Ct);
        await writer.ApplyAsync(
        [
            Own(Create(1, "o1", """{"customerId":"c1","item":"x"}"""), keys[0]),
            Own(Create(2, "o2", """{"item":"names no customer"}"""), keys[1]),
            Own(Create(3, "o3", """{"customerId":"c1"}"""), keys[2]),
            Own(Create(4, "o4", """{"customerId":"c2"}"""), keys[3]),
            Own(Delete(5, "o4"), keys[3]),
        ], Ct);

        // The process dies after handing the keys over, before writing the mappings: the next pass maps them.
        writer.FailBefore = static step => step == "map-stored-entities";
        await Assert.ThrowsAsync<DbWriterException>(() => writer.MapStoredEntitiesAsync([OrderToCustomer], Ct));
        Assert.Null(await writer.FindEntitySubjectAsync("Order", "o1", Ct));
        Assert.Equal("Customer/c1", Assert.Single(await writer.FindKeysAsync([keys[0].KeyId], Ct)).Subject); // handed over first
        await using var restarted = mongo.Reopen();
        var result = Assert.Single(await restarted.MapStoredEntitiesAsync([OrderToCustomer], Ct));
        Assert.Equal((2, 1, false), (result.Mapped, result.Unnamed, result.AlreadyDone));
        Assert.Equal("Customer/c1", await restarted.FindEntitySubjectAsync("Order", "o1", Ct));
        Assert.Equal(new[] { keys[0].KeyId, keys[2].KeyId }.Order(), (await restarted.FindSubjectKeysAsync(["Customer/c1"], Ct)).Select(k => k.KeyId).Order());
        Assert.True(Assert.Single(await restarted.MapStoredEntitiesAsync([OrderToCustomer], Ct)).AlreadyDone);

        // An update naming o2's customer hands its own key over; a create reusing the deleted o4's id does not.
        await restarted.ApplyAsync(
        [
            Sealed(Update(6, "o2", """{"customerId":"c1"}"""), "Customer/c1"),
            Sealed(Create(7, "o4", """{"customerId":"c3"}"""), "Customer/c3"),
        ], Ct);
        Assert.Empty(await restarted.FindSubjectKeysAsync(["Order/o2"], Ct));
        Assert.Equal(keys[3].KeyId, Assert.Single(await restarted.FindSubjectKeysAsync(["Order/o4"], Ct)).KeyId);

        Assert.Empty(await restarted.MapStoredEntitiesAsync([], Ct)); // a start without the rule forgets its pass
        Assert.False(Assert.Single(await restarted.MapStoredEntitiesAsync([OrderToCustomer], Ct)).AlreadyDone);
    }
}
