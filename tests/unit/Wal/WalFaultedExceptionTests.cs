using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalFaultedExceptionTests
{
    [Theory]
    [InlineData(5, "EIO", "check the kernel log and the disk")]
    [InlineData(28, "ENOSPC", "free space there")]
    [InlineData(122, "EDQUOT", "free space there")]
    [InlineData(30, "EROFS", "remount it read-write")]
    [InlineData(71, "errno 71", "restart the host")]
    public void The_errno_is_named_and_the_advice_fits_it(int errno, string name, string advice)
    {
        var fault = new WalFaultedException("faulted", "/wal/log/nv.log.0", errno);
        Assert.Equal(name, fault.ErrnoName);
        Assert.Contains(advice, fault.Advice, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_errno_says_so()
    {
        var fault = new WalFaultedException("faulted");
        Assert.Equal("unknown", fault.ErrnoName);
        Assert.Contains("restart the host", fault.Advice, StringComparison.Ordinal);
    }
}
