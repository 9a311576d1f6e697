using System.Text;
using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Unit.Tests.DbWriter;

/// <summary>The batch decision every writer makes (ApplyRules.DecideBatch) and the stored per-item outcome format
/// (BatchItemsJson): round trip and damaged input.</summary>
public sealed class BatchRulesTests
{
    private static WalRecord Item(WalOperation operation, string id, Lsn? expected = null) => new()
    {
        Id = Guid.CreateVersion7(),
        Lsn = new Lsn(10),
        Service = "s",
        Version = 1,
        Timestamp = DateTimeOffset.UnixEpoch,
        Operation = operation,
        DtoType = "Order",
        EntityId = id,
        Payload = JsonDocument.Parse("{}").RootElement.Clone(),
        ReplayKey = "e:s:1:Order:" + id,
        RequestId = "r",
        ExpectedLsn = expected,
    };

    [Fact]
    public void Every_item_applicable_applies_the_batch()
    {
        var decision = ApplyRules.DecideBatch([Item(WalOperation.Create, "a"), Item(WalOperation.Update, "b", new Lsn(3))],
            i => i == 0 ? (false, false, 0) : (true, true, 3));
        Assert.Equal((ApplyStatus.Applied, RejectReason.None, (int?)null), (decision.Status, decision.Reason, decision.FailedItem));
        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied], decision.ItemStatuses);
    }

    [Fact]
    public void The_first_rejected_item_rejects_the_batch_with_its_reason()
    {
        var decision = ApplyRules.DecideBatch(
            [Item(WalOperation.Create, "a"), Item(WalOperation.Delete, "gone"), Item(WalOperation.Create, "exists")],
            i => i switch { 0 => (false, false, 0), 1 => (true, false, 5), _ => (true, true, 2) });
        Assert.Equal((ApplyStatus.Rejected, RejectReason.NotFound, (int?)1, (long?)5), (decision.Status, decision.Reason, decision.FailedItem, decision.FailedStoredLsn));
    }

    [Fact]
    public void Superseded_items_are_skipped_and_a_batch_of_only_superseded_items_is_already_applied()
    {
        var items = new[] { Item(WalOperation.Update, "a"), Item(WalOperation.Update, "b") };
        var partly = ApplyRules.DecideBatch(items, i => i == 0 ? (true, true, 12) : (true, true, 4));
        Assert.Equal(ApplyStatus.Applied, partly.Status);
        Assert.Equal([ApplyStatus.AlreadyApplied, ApplyStatus.Applied], partly.ItemStatuses);

        var all = ApplyRules.DecideBatch(items, _ => (true, true, 10));
        Assert.Equal(ApplyStatus.AlreadyApplied, all.Status);
    }

    [Fact]
    public void Stored_item_outcomes_round_trip()
    {
        byte[] before = Encoding.UTF8.GetBytes("""{"v":1,"s":"ü"}""");
        var encoded = BatchItemsJson.Encode([ApplyStatus.Applied, ApplyStatus.Applied, ApplyStatus.AlreadyApplied], [before, null, null]);
        Assert.Equal("""[{"v":1,"s":"ü"},null,false]""", Encoding.UTF8.GetString(encoded));

        var decoded = BatchItemsJson.Decode(encoded, new Lsn(7));
        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied, ApplyStatus.AlreadyApplied], decoded.Select(i => i.Status));
        Assert.Equal("ü", decoded[0].Before!.Value.GetProperty("s").GetString());
        Assert.Null(decoded[1].Before);
        Assert.All(decoded, i => Assert.Equal(new Lsn(7), i.Lsn));
    }

    [Theory]
    [InlineData("")]
    [InlineData("[")]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("[true]")]
    [InlineData("[1]")]
    [InlineData("[\"x\"]")]
    [InlineData("[[]]")]
    public void Damaged_stored_item_outcomes_are_refused(string stored) =>
        Assert.Throws<FormatException>(() => BatchItemsJson.Decode(Encoding.UTF8.GetBytes(stored), new Lsn(1)));
}
