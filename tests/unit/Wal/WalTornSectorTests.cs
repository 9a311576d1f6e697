using System.Globalization;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>
/// FasterLog rewrites the last partial sector of its tail page on every flush, so acknowledged bytes are written again in
/// place. Crash images in which each 512-byte sector a flush rewrote is either its old or its new version, in every
/// combination (or a seeded sample of them when there are too many), must recover every record acknowledged before
/// that flush, intact, and return nothing corrupt: only records of the interrupted flush, in order and intact.
/// </summary>
/// <remarks>The model is Nv's stated assumption: a 512-byte sector write is atomic (a sector holds its old or its new
/// content, never a mix); sectors of one write may land in any order. <c>NV_TEST_SEED</c> pins the sample.</remarks>
public sealed class WalTornSectorTests : WalTestBase
{
    private const int MaxImages = 96;

    public static TheoryData<string> Scenarios => ["one-large-record", "several-small-records", "across-a-page-boundary"];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task Every_crash_image_of_a_torn_flush_keeps_every_acknowledged_record_and_returns_nothing_corrupt(string scenario)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("NV_TEST_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pinned)
            ? pinned
            : Random.Shared.Next();
        var random = new Random(seed);
        var acrossPages = scenario == "across-a-page-boundary";
        var (acknowledged, next) = scenario switch
        {
            "one-large-record" => (5, new[] { Record(100) with { Reason = new string('l', 1700) } }),
            "several-small-records" => (4, Enumerable.Range(100, 4).Select(i => Record(i) with { Reason = new string('s', 150 + (i * 7 % 90)) }).ToArray()),

            // 4 KiB pages: the acknowledged records end a few hundred bytes before a page end; of the new ones the first
            // still fits that page, the second does not (FasterLog pads the page and starts the next one).
            _ => (4, new[] { Record(100), Record(101) with { Reason = new string('p', 600) }, Record(102) with { Reason = "q" } }),
        };

        var capture = await CaptureFlushAsync(acknowledged, next, acrossPages ? i => Record(i) with { Reason = new string('a', 530) } : null);
        var sectors = capture.ChangedSectors;
        Assert.True(sectors.Count >= 2, $"{scenario}: the flush rewrote only {sectors.Count} sectors");
        Assert.True(!acrossPages || (sectors[0] < 8 && sectors[^1] >= 8), $"{scenario}: sectors {string.Join(',', sectors)} do not span pages 0 and 1");
        var combinations = Combinations(sectors.Count, random).ToList();
        var context = $"{scenario}, seed {seed} (NV_TEST_SEED), sectors {string.Join(',', sectors)}";
        TestContext.Current.TestOutputHelper?.WriteLine($"{context}: {combinations.Count} of {1L << Math.Min(sectors.Count, 62)} images");

        var image = Path.Combine(Directory, "image");
        foreach (var mask in combinations)
        {
            var landed = sectors.Where((_, i) => (mask & (1L << i)) != 0).ToList();
            var where = $"{context}, landed [{string.Join(',', landed)}]";
            ComposeImage(capture, image, landed);
            var options = Options();
            options.Directory = image;
            List<WalRecord> read;
            await using (var wal = OpenOrFail(options, where))
            {
                read = await ReadAll(wal);
                AssertRecovered(capture, read, where);

                // The first flush after recovery rewrites the partial sector again: the log stays whole.
                var more = await wal.AppendAsync(Record(500), Ct);
                await wal.FlushAsync(more.Lsn, Ct);
                Assert.True(more.Lsn.Value == read.Count + 1, $"{where}: next LSN {more.Lsn} after {read.Count} records");
                read.Add(more);
            }

            await using (var reopened = OpenOrFail(options, where + ", reopened"))
            {
                var again = await ReadAll(reopened);
                Assert.True(read.Select(r => (r.Lsn, r.RequestId)).SequenceEqual(again.Select(r => (r.Lsn, r.RequestId))),
                    $"{where}: reopened with {again.Count} records, expected {read.Count}");
            }
        }
    }

    private static IWriteAheadLog OpenOrFail(WalOptions options, string where)
    {
        try
        {
            return WriteAheadLog.Open(options);
        }
        catch (WalCorruptionException ex)
        {
            Assert.Fail($"{where}: a torn unacknowledged write refused the open: {ex.Message}");
            throw;
        }
    }

    private static void AssertRecovered(FlushCapture capture, List<WalRecord> read, string where)
    {
        Assert.True(read.Count >= capture.Acknowledged.Count, $"{where}: {read.Count} records recovered, {capture.Acknowledged.Count} were acknowledged");
        var expected = capture.Acknowledged.Concat(capture.Flushed).ToList();
        for (var i = 0; i < read.Count; i++)
        {
            Assert.True(i < expected.Count, $"{where}: record {i + 1} was never written");
            Assert.True(read[i].Lsn == expected[i].Lsn && read[i].RequestId == expected[i].RequestId && read[i].Reason == expected[i].Reason
                && read[i].Payload.GetRawText() == expected[i].Payload.GetRawText(), $"{where}: record {i + 1} differs from what was written");
        }
    }

    /// <summary>Every subset of <paramref name="count"/> sectors when affordable; otherwise none, all, each single sector,
    /// each prefix and suffix, and a seeded random sample, up to <see cref="MaxImages"/>.</summary>
    private static IEnumerable<long> Combinations(int count, Random random)
    {
        if (count <= 6)
        {
            return Enumerable.Range(0, 1 << count).Select(m => (long)m);
        }

        var all = (1L << count) - 1;
        var set = new HashSet<long> { 0, all };
        for (var i = 0; i < count; i++)
        {
            set.Add(1L << i);
            set.Add(all & ~(1L << i));
            set.Add((1L << i) - 1);
            set.Add(all & ~((1L << i) - 1));
        }

        while (set.Count < MaxImages)
        {
            set.Add(random.NextInt64(all + 1));
        }

        return set.Order();
    }
}
