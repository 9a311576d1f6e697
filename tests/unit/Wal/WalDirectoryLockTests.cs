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

    /// <summary><see cref="WalDirectoryLock"/>: the lock alone excludes every opening of the log, read-write or read-only,
    /// and is excluded by one; it reads and writes nothing of the log.</summary>
    [Fact]
    public async Task The_lock_alone_excludes_an_open_log_both_ways_and_changes_no_file_of_it()
    {
        var options = new WalOptions { Directory = _dir, PageSizeBits = 12, SegmentSizeBits = 16, MemorySizeBits = 14, MaxRecordBytes = 2048 };
        await using (var wal = WriteAheadLog.Open(options))
        {
            await wal.AppendAsync(WalRecordCodecTestsData.Single(), TestContext.Current.CancellationToken);
            Assert.Throws<WalLockedException>(() => WalDirectoryLock.Acquire(_dir));
        }

        var before = Snapshot();
        using (var held = WalDirectoryLock.Acquire(_dir))
        {
            Assert.Equal(Path.GetFullPath(_dir), held.Directory);
            Assert.Throws<WalLockedException>(() => WriteAheadLog.Open(options));
            Assert.Throws<WalLockedException>(() => WriteAheadLog.Open(new WalOptions
            {
                Directory = _dir, PageSizeBits = 12, SegmentSizeBits = 16, MemorySizeBits = 14, MaxRecordBytes = 2048, ReadOnly = true,
            }));
        }

        Assert.Equal(before, Snapshot());
        await using var again = WriteAheadLog.Open(options);
        Assert.Equal(new Lsn(1), again.LastLsn);
    }

    [Fact]
    public void The_lock_of_a_directory_holding_no_wal_is_refused_and_creates_nothing()
    {
        var missing = Path.Combine(_dir, "mistyped", "wal");

        Assert.Throws<WalConfigurationException>(() => WalDirectoryLock.Acquire(missing));

        Assert.False(Directory.Exists(_dir));
    }

    private Dictionary<string, string> Snapshot() => Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories)
        .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

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
