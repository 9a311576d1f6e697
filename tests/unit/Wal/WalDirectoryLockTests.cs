using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalDirectoryLockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "nv-lock-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_second_open_of_the_same_directory_fails_with_a_clear_error_and_the_first_keeps_working()
    {
        await using var first = WriteAheadLog.Open(new WalOptions { Directory = _dir, PageSizeBits = 12, SegmentSizeBits = 16, MemorySizeBits = 14, MaxRecordBytes = 2048 });

        var ex = Assert.Throws<WalLockedException>(() => WriteAheadLog.Open(new WalOptions { Directory = _dir, PageSizeBits = 12, SegmentSizeBits = 16, MemorySizeBits = 14, MaxRecordBytes = 2048 }));

        Assert.Contains("in use by another process", ex.Message, StringComparison.Ordinal);
        Assert.Equal(WalState.Open, first.State);
    }

    [Fact]
    public async Task The_lock_is_released_on_dispose()
    {
        var options = new WalOptions { Directory = _dir, PageSizeBits = 12, SegmentSizeBits = 16, MemorySizeBits = 14, MaxRecordBytes = 2048 };
        await WriteAheadLog.Open(options).DisposeAsync();
        await using var again = WriteAheadLog.Open(options);
        Assert.Equal(WalState.Open, again.State);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
