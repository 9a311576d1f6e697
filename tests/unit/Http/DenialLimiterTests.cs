using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Nv.Audit;
using Nv.Host.Http;
using Nv.Host.Http.Auth;

namespace Nv.Unit.Tests.Http;

public sealed class DenialLimiterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    private DenialLimiter Limiter(int perAddress = 3, int perWindow = 100, int addresses = 1000) => new(Options.Create(new HttpOptions
    {
        DenialAuditsPerAddress = perAddress,
        DenialAuditsPerWindow = perWindow,
        DenialAuditAddresses = addresses,
    }), _time);

    [Fact]
    public void Each_address_gets_its_first_denials_itemized_and_the_rest_counted_by_kind()
    {
        var limiter = Limiter(perAddress: 3);
        var a = Enumerable.Range(0, 10).Count(_ => limiter.Admit("203.0.113.7", AuditCategory.Authentication, "anonymous"));
        var b = Enumerable.Range(0, 2).Count(_ => limiter.Admit("198.51.100.1", AuditCategory.Authentication, "anonymous"));
        var c = Enumerable.Range(0, 4).Count(_ => limiter.Admit("203.0.113.7", AuditCategory.Permission, "reader"));
        _time.Advance(TimeSpan.FromSeconds(42));

        var summaries = limiter.EndWindow();

        Assert.Equal((3, 2, 0), (a, b, c)); // the address's 3 went to its first 401s; its 403s are all counted
        Assert.Equal(2, summaries.Count);
        var auth = summaries.Single(s => s.Category == AuditCategory.Authentication);
        Assert.Equal(("203.0.113.7", 7L, 3), (auth.Address, auth.Count, auth.Itemized));
        var permission = summaries.Single(s => s.Category == AuditCategory.Permission);
        Assert.Equal(("203.0.113.7", 4L, 0, "reader"), (permission.Address, permission.Count, permission.Itemized, Assert.Single(permission.Subjects)));
        Assert.Equal(TimeSpan.FromSeconds(42), auth.WindowEnd - auth.WindowStart);
    }

    [Fact]
    public void A_new_window_starts_over_and_an_empty_one_has_no_summaries()
    {
        var limiter = Limiter(perAddress: 1);
        Assert.True(limiter.Admit("203.0.113.7", AuditCategory.Authentication, "anonymous"));
        Assert.False(limiter.Admit("203.0.113.7", AuditCategory.Authentication, "anonymous"));
        Assert.Single(limiter.EndWindow());

        Assert.True(limiter.Admit("203.0.113.7", AuditCategory.Authentication, "anonymous"));
        Assert.Empty(limiter.EndWindow()); // itemized only: nothing to summarize
        Assert.Empty(limiter.EndWindow());
    }

    [Fact]
    public void The_host_limit_holds_across_addresses()
    {
        var limiter = Limiter(perAddress: 5, perWindow: 7);
        var itemized = Enumerable.Range(0, 20).Count(i => limiter.Admit("10.0.0." + (i % 4).ToString(System.Globalization.CultureInfo.InvariantCulture),
            AuditCategory.Authentication, "anonymous"));

        Assert.Equal(7, itemized);
        var summaries = limiter.EndWindow();
        Assert.Equal(13, summaries.Sum(s => s.Count));
        Assert.Equal(7, summaries.Sum(s => s.Itemized));
    }

    [Fact]
    public void Addresses_past_the_table_are_counted_together_never_itemized_and_never_lost()
    {
        var limiter = Limiter(perAddress: 1, addresses: 2);
        var itemized = 0;
        for (var i = 0; i < 50; i++)
        {
            itemized += limiter.Admit("10.0.0." + i.ToString(System.Globalization.CultureInfo.InvariantCulture), AuditCategory.Authentication, "anonymous") ? 1 : 0;
        }

        var summaries = limiter.EndWindow();

        Assert.Equal(2, itemized);
        var other = Assert.Single(summaries);
        Assert.Equal((DenialLimiter.OtherAddresses, 48L), (other.Address, other.Count));
    }

    [Fact]
    public void Subjects_are_sampled_and_more_are_flagged()
    {
        var limiter = Limiter(perAddress: 0);
        for (var i = 0; i < DenialLimiter.SubjectSamples + 3; i++)
        {
            limiter.Admit("203.0.113.7", AuditCategory.Authentication, "key-sha256:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            limiter.Admit("203.0.113.7", AuditCategory.Authentication, "key-sha256:0");
        }

        var summary = Assert.Single(limiter.EndWindow());
        Assert.Equal(2L * (DenialLimiter.SubjectSamples + 3), summary.Count);
        Assert.Equal(DenialLimiter.SubjectSamples, summary.Subjects.Count);
        Assert.True(summary.MoreSubjects);
    }

    [Fact]
    public async Task Concurrent_denials_are_each_itemized_or_counted_exactly_once()
    {
        var limiter = Limiter(perAddress: 10, perWindow: 25);
        var itemized = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                if (limiter.Admit("10.0.0." + (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture), AuditCategory.Authentication, "anonymous"))
                {
                    Interlocked.Increment(ref itemized);
                }
            }
        }, TestContext.Current.CancellationToken)));

        var summaries = limiter.EndWindow();
        Assert.Equal(25, itemized);
        Assert.Equal(40_000 - 25, summaries.Sum(s => s.Count));
    }
}
