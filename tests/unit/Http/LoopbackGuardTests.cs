using System.Net;
using Microsoft.Extensions.Configuration;
using Nv.Host.Http.Auth;

namespace Nv.Unit.Tests.Http;

public sealed class LoopbackGuardTests
{
    [Fact]
    public void A_kestrel_endpoint_that_is_not_loopback_is_named()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:local:Url"] = "http://127.0.0.1:5393",
            ["Kestrel:Endpoints:x:Url"] = "http://0.0.0.0:5394",
        }).Build();

        Assert.Equal("Kestrel:Endpoints:x:Url=http://0.0.0.0:5394", LoopbackGuard.FirstNonLoopbackEndpoint(configuration));
    }

    [Fact]
    public void Loopback_kestrel_endpoints_or_none_pass()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:a:Url"] = "http://localhost:5393",
            ["Kestrel:Endpoints:b:Url"] = "https://[::1]:5394",
        }).Build();

        Assert.Null(LoopbackGuard.FirstNonLoopbackEndpoint(configuration));
        Assert.Null(LoopbackGuard.FirstNonLoopbackEndpoint(new ConfigurationBuilder().Build()));
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("LocalHost", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.3.4.5", true)]
    [InlineData("[::1]", true)]
    [InlineData("::1", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("attacker.example", false)]
    [InlineData("localhost.attacker.example", false)]
    [InlineData("localhost.", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("[::]", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("[::ffff:127.0.0.1]", true)]
    public void Only_localhost_and_loopback_literals_are_loopback_hosts(string? host, bool loopback) =>
        Assert.Equal(loopback, LoopbackGuard.IsLoopbackHost(host));

    [Theory]
    [InlineData("http://[::]:5392", false)] // what Kestrel reports for a host it listens on every interface for
    [InlineData("http://0.0.0.0:5392", false)]
    [InlineData("http://localhost:5392", true)]
    [InlineData("http://127.0.0.1:5392", true)]
    [InlineData("http://[::1]:5392", true)]
    public void Bound_addresses_as_kestrel_reports_them_are_read(string address, bool loopback) =>
        Assert.Equal(loopback, LoopbackGuard.IsLoopbackAddress(address));

    [Fact]
    public void An_ipv4_mapped_loopback_address_is_loopback() =>
        Assert.True(LoopbackGuard.IsLoopback(IPAddress.Parse("::ffff:127.0.0.1")));
}
