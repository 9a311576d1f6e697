using Nv.DbWriter;

namespace Nv.Unit.Tests.DbWriter;

/// <summary>The request-id filter's Bloom filter: never "absent" for a string added, rarely "present" for one never added.</summary>
public sealed class StringBloomFilterTests
{
    [Fact]
    public void Every_string_added_is_found_and_strings_never_added_are_rarely_found_at_capacity()
    {
        var filter = new StringBloomFilter(50_000);
        for (var i = 0; i < 50_000; i++)
        {
            filter.Add("req-" + i);
        }

        for (var i = 0; i < 50_000; i++)
        {
            Assert.True(filter.MightContain("req-" + i));
        }

        var falsePositives = Enumerable.Range(0, 100_000).Count(i => filter.MightContain("other-" + i));
        Assert.InRange(falsePositives, 0, 2_000); // ~1 % by design (10 bits, 7 hashes); 2 % bounds the test
        Assert.Equal(50_000, filter.Count);
    }

    [Fact]
    public void Past_its_capacity_it_still_finds_every_string_added()
    {
        var filter = new StringBloomFilter(1_000);
        var ids = Enumerable.Range(0, 20_000).Select(_ => Guid.NewGuid().ToString()).ToList();
        Parallel.ForEach(ids, filter.Add); // concurrent adds: atomic ORs lose no bit
        Assert.All(ids, id => Assert.True(filter.MightContain(id)));
        Assert.False(new StringBloomFilter(1_000).MightContain(ids[0]));
    }
}
