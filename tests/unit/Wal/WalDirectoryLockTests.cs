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

    [Fact]
    public async Task Every_dispose_call_returns_only_once_the_log_is_closed()
    {
        // A host disposed from two threads at once (WebApplicationFactory and a minimal-hosting app's own Run): the second call
        // used to return at once, while the first was still writing the close commit and held the directory.
        var options = new WalOptions { Directory = _dir, PageSizeBits = 12, SegmentSizeBits = 16, MemorySizeBits = 14, MaxRecordBytes = 2048 };
        var wal = WriteAheadLog.Open(options);
        await wal.AppendAsync(WalRecordCodecTestsData.Single(), TestContext.Current.CancellationToken);

        var first = wal.DisposeAsync().AsTask();
        await wal.DisposeAsync();

        Assert.True(first.IsCompleted, "the second DisposeAsync returned before the first had closed the log");
        await using var again = WriteAheadLog.Open(options);
        Assert.Equal(new Lsn(1), again.LastLsn);
        await first;
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
