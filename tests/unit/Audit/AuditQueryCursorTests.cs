using Nv.Audit;

namespace Nv.Unit.Tests.Audit;

/// <summary><see cref="AuditQuery.IsValidCursor"/>: what the CLI checks before it opens the store.</summary>
public sealed class AuditQueryCursorTests
{
    [Fact]
    public void A_cursor_a_page_returns_is_valid()
    {
        var cursor = new AuditCursor("2025-01-02T03:04:05.0000000+00:00", Guid.NewGuid().ToString("D")).Encode();

        Assert.True(AuditQuery.IsValidCursor(cursor));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("djF8fGZvbw")] // base64url of "v1||foo": no timestamp, no id
    [InlineData("!!!")]
    public void Anything_else_is_not(string? cursor) => Assert.False(AuditQuery.IsValidCursor(cursor));
}
