using Nv.Host.Http;

namespace Nv.Unit.Tests.Http;

public sealed class HttpOptionsValidatorTests
{
    [Theory]
    [InlineData(32, true)]
    [InlineData(1, true)]
    [InlineData(10_000, true)]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(10_001, false)]
    public void The_change_feed_stream_limit_is_validated(int streams, bool valid)
    {
        Assert.Equal(32, new HttpOptions().MaxChangeFeedStreams);
        var result = new HttpOptionsValidator().Validate(null, new HttpOptions { MaxChangeFeedStreams = streams });
        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Nv:Http:MaxChangeFeedStreams", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("MaxAuditPageBytes", 4L * 1024 * 1024, true)]
    [InlineData("MaxAuditPageBytes", 64L * 1024, true)]
    [InlineData("MaxAuditPageBytes", 256L * 1024 * 1024, true)]
    [InlineData("MaxAuditPageBytes", 64L * 1024 - 1, false)]
    [InlineData("MaxAuditPageBytes", 256L * 1024 * 1024 + 1, false)]
    [InlineData("MaxConcurrentAuditQueries", 1, true)]
    [InlineData("MaxConcurrentAuditQueries", 1000, true)]
    [InlineData("MaxConcurrentAuditQueries", 0, false)]
    [InlineData("MaxConcurrentAuditQueries", 1001, false)]
    [InlineData("MaxConcurrentAuditVerifications", 1, true)]
    [InlineData("MaxConcurrentAuditVerifications", 64, true)]
    [InlineData("MaxConcurrentAuditVerifications", 0, false)]
    [InlineData("MaxConcurrentAuditVerifications", 65, false)]
    public void The_audit_read_limits_are_validated(string setting, long value, bool valid)
    {
        Assert.Equal((4L * 1024 * 1024, 8, 1), (new HttpOptions().MaxAuditPageBytes, new HttpOptions().MaxConcurrentAuditQueries,
            new HttpOptions().MaxConcurrentAuditVerifications));
        var options = setting switch
        {
            "MaxAuditPageBytes" => new HttpOptions { MaxAuditPageBytes = value },
            "MaxConcurrentAuditQueries" => new HttpOptions { MaxConcurrentAuditQueries = (int)value },
            _ => new HttpOptions { MaxConcurrentAuditVerifications = (int)value },
        };

        var result = new HttpOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("Nv:Http:" + setting, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_defaults_of_the_connection_stream_and_denial_limits_are_valid()
    {
        var options = new HttpOptions();
        Assert.True(new HttpOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(8, options.MaxChangeFeedStreamsPerKey);
        Assert.Equal(1000, options.MaxConcurrentConnections);
        Assert.Equal(TimeSpan.FromMinutes(1), options.DenialAuditWindow);
        Assert.Equal(10, options.DenialAuditsPerAddress);
        Assert.Equal(100, options.DenialAuditsPerWindow);
        Assert.Equal(1000, options.DenialAuditAddresses);
    }

    public static TheoryData<string, Action<HttpOptions>> OutOfRange => new()
    {
        { "MaxChangeFeedStreamsPerKey", o => o.MaxChangeFeedStreamsPerKey = 0 },
        { "MaxChangeFeedStreamsPerKey", o => o.MaxChangeFeedStreamsPerKey = 10_001 },
        { "MaxConcurrentConnections", o => o.MaxConcurrentConnections = 0 },
        { "MaxConcurrentConnections", o => o.MaxConcurrentConnections = 1_000_001 },
        { "DenialAuditWindow", o => o.DenialAuditWindow = TimeSpan.FromMilliseconds(999) },
        { "DenialAuditWindow", o => o.DenialAuditWindow = TimeSpan.FromHours(1.5) },
        { "DenialAuditsPerAddress", o => o.DenialAuditsPerAddress = -1 },
        { "DenialAuditsPerAddress", o => o.DenialAuditsPerAddress = 10_001 },
        { "DenialAuditsPerWindow", o => o.DenialAuditsPerWindow = -1 },
        { "DenialAuditsPerWindow", o => o.DenialAuditsPerWindow = 100_001 },
        { "DenialAuditAddresses", o => o.DenialAuditAddresses = 0 },
        { "DenialAuditAddresses", o => o.DenialAuditAddresses = 100_001 },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void A_limit_out_of_range_is_refused_naming_it(string setting, Action<HttpOptions> change)
    {
        var options = new HttpOptions();
        change(options);
        var result = new HttpOptionsValidator().Validate(null, options);
        Assert.False(result.Succeeded);
        Assert.Contains("Nv:Http:" + setting + " must be", result.FailureMessage, StringComparison.Ordinal);
    }
}
