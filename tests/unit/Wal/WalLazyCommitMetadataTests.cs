using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>FasterLog's commit metadata is written lazily: a crash image (files copied while the log is open) still
/// recovers every flushed record, from the commit records in the log.</summary>
public sealed class WalLazyCommitMetadataTests : WalTestBase
{
    [Fact]
    public async Task A_crash_image_taken_between_metadata_writes_recovers_every_flushed_record()
    {
        var image = Path.Combine(Directory, "image");
        var written = new List<WalRecord>();
        await using (var wal = Open())
        {
            // Many group commits within one metadata interval: only the first writes commit metadata.
            for (var i = 0; i < 50; i++)
            {
                var r = await wal.AppendAsync(Record(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
                written.Add(r);
            }

            CopyDirectory(Directory, image);
        }

        var commitFiles = System.IO.Directory.GetFiles(Path.Combine(image, "log", "commits"), "*", SearchOption.AllDirectories);
        Assert.InRange(commitFiles.Length, 1, 5);

        var options = Options();
        options.Directory = image;
        await using var reopened = WriteAheadLog.Open(options);
        var read = await ReadAll(reopened);
        Assert.Equal(written.Select(r => r.Lsn), read.Select(r => r.Lsn));
        Assert.Equal(written.Select(r => r.RequestId), read.Select(r => r.RequestId));
        Assert.Null(reopened.Recovery.BrokenTailPath);
    }

    [Fact]
    public async Task A_failed_commit_metadata_write_faults_the_wal_naming_the_file()
    {
        await using var wal = Open();
        await AppendFlushed(wal, 3);

        // Make the next metadata write fail for real: its directory is now a file (rename into it: ENOTDIR).
        var metadata = Path.Combine(LogDirectory, "commits", "log-commits");
        System.IO.Directory.Delete(metadata, recursive: true);
        await File.WriteAllTextAsync(metadata, "not a directory", Ct);

        // Metadata is written at most every 100 ms: keep committing until a write was attempted and the WAL faulted.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        WalFaultedException? fault = null;
        while (fault is null && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(120, Ct);
            try
            {
                var r = await wal.AppendAsync(Record(9), Ct);
                await wal.FlushAsync(r.Lsn, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), Ct);
            }
            catch (WalFaultedException ex)
            {
                fault = ex;
            }
        }

        Assert.NotNull(fault);
        Assert.Equal(WalState.Faulted, wal.State);
        Assert.Contains(metadata, fault.Path, StringComparison.Ordinal);
        await Assert.ThrowsAsync<WalFaultedException>(async () => await wal.AppendAsync(Record(10), Ct));
    }
}
