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
}
