using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class ReplayKeyTests
{
    [Fact]
    public void Same_inputs_give_the_same_key()
    {
        var a = ReplayKey.Create("prod", "orders", 2, "Order", "o-17");
        var b = ReplayKey.Create("prod", "orders", 2, "Order", "o-17");
        Assert.Equal("prod:orders:2:Order:o-17", a);
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData("dev", "orders", 2, "Order", "o-17")]
    [InlineData("prod", "billing", 2, "Order", "o-17")]
    [InlineData("prod", "orders", 3, "Order", "o-17")]
    [InlineData("prod", "orders", 2, "Invoice", "o-17")]
    [InlineData("prod", "orders", 2, "Order", "o-18")]
    public void Any_changed_part_changes_the_key(string env, string slug, int version, string dtoType, string entityId)
    {
        Assert.NotEqual(ReplayKey.Create("prod", "orders", 2, "Order", "o-17"), ReplayKey.Create(env, slug, version, dtoType, entityId));
    }

    [Fact]
    public void Entity_id_may_contain_colons_and_the_key_still_splits_unambiguously()
    {
        var key = ReplayKey.Create("prod", "orders", 1, "Order", "a:b:c");
        var parts = key.Split(':', 5);
        Assert.Equal("a:b:c", parts[4]);
    }

    [Theory]
    [InlineData("pr:od", "orders", "Order", "x")]
    [InlineData("prod", "or:ders", "Order", "x")]
    [InlineData("prod", "orders", "Or:der", "x")]
    [InlineData("", "orders", "Order", "x")]
    [InlineData("prod", "orders", "Order", "")]
    [InlineData("prod", "orders", "Order", "a\0b")]
    public void Ambiguous_or_empty_parts_are_rejected(string env, string slug, string dtoType, string entityId)
    {
        Assert.ThrowsAny<ArgumentException>(() => ReplayKey.Create(env, slug, 1, dtoType, entityId));
    }
}
