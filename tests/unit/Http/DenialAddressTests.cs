using System.Net;
using Nv.Host.Http.Auth;

namespace Nv.Unit.Tests.Http;

public sealed class DenialAddressTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [InlineData("::1", "::1")]
    public void Ipv6_addresses_count_by_their_64_prefix_and_ipv4_as_they_are(string address, string key) =>
        Assert.Equal(key, DenialAddress.Of(IPAddress.Parse(address)));

    [Fact]
    public void No_address_counts_as_unknown() => Assert.Equal("unknown", DenialAddress.Of(null));
}
