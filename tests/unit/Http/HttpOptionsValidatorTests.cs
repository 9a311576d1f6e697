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
}
