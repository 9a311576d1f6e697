using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalGeometryTests : WalTestBase
{
    [Fact]
    public async Task Reopening_with_another_segment_size_is_refused_clearly_and_the_log_is_untouched()
    {
        await using (var wal = Open())
        {
            var record = await wal.AppendAsync(Record(1), Ct);
            await wal.FlushAsync(record.Lsn, Ct);
        }

        var ex = Assert.Throws<WalConfigurationException>(() => Open(segmentBits: 18));
        Assert.Contains("SegmentSizeBits=16", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SegmentSizeBits=18", ex.Message, StringComparison.Ordinal);

        await using var again = Open();
        Assert.Equal(new Lsn(1), again.LastLsn);
    }

    [Fact]
    public async Task A_damaged_geometry_file_is_refused_with_a_clear_error()
    {
        await Open().DisposeAsync();
        await File.WriteAllTextAsync(Path.Combine(Directory, "geometry"), "garbage", Ct);

        var ex = Assert.Throws<WalConfigurationException>(() => Open());
        Assert.Contains("damaged", ex.Message, StringComparison.Ordinal);
    }
}
