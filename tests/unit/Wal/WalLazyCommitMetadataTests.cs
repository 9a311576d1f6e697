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
}
