using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nv.Host.Http;

namespace Nv.Unit.Tests.Http;

public sealed class ChangeStreamLimitTests
{
    private static ChangeStreamLimit Limit(int max, int perKey) =>
        new(Options.Create(new HttpOptions { MaxChangeFeedStreams = max, MaxChangeFeedStreamsPerKey = perKey }), NullLogger<ChangeStreamLimit>.Instance);

    [Fact]
    public void One_key_cannot_take_every_slot()
    {
        var limit = Limit(max: 4, perKey: 2);
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter("reader"));
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter("reader"));
        Assert.Equal(ChangeStreamAdmission.KeyFull, limit.TryEnter("reader"));
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter("other"));
        Assert.Equal(3, limit.Open);

        limit.Exit("reader");
        Assert.Equal(1, limit.OpenFor("reader"));
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter("reader"));
    }

    [Fact]
    public void The_host_limit_still_holds_and_no_key_is_limited_by_it_alone()
    {
        var limit = Limit(max: 3, perKey: 2);
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter(null));
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter(null));
        Assert.Equal(ChangeStreamAdmission.Entered, limit.TryEnter(null)); // no key: only the host's limit
        Assert.Equal(ChangeStreamAdmission.HostFull, limit.TryEnter(null));
        Assert.Equal(ChangeStreamAdmission.HostFull, limit.TryEnter("reader"));
        Assert.Equal(0, limit.OpenFor("reader")); // a refused stream takes nothing
        limit.Exit(null);
        Assert.Equal(2, limit.Open);
    }

    [Fact]
    public void A_per_key_limit_above_the_host_limit_is_the_host_limit() => Assert.Equal(2, Limit(max: 2, perKey: 8).MaxPerKey);
}
