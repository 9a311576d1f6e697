using Nv.Wal.IO;

namespace Nv.Unit.Tests.Wal;

public sealed class DurableFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "nv-durable-file-tests", Guid.NewGuid().ToString("N"));

    public DurableFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Fails without the cleanup in DurableFile.Write: the content was written and fsynced into &lt;path&gt;.tmp, the
    /// rename failed, and the temp file stayed (for a master key, a live key in a stray file).</summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void A_write_whose_rename_fails_leaves_no_temp_file(bool overwrite, bool onDirectory)
    {
        var path = Path.Combine(_dir, "target");
        if (onDirectory)
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            File.WriteAllText(path, "old");
        }

        Assert.ThrowsAny<IOException>(() => DurableFile.Write(path, "secret"u8, overwrite));

        Assert.False(File.Exists(path + ".tmp"), "the temp file was left behind");
        Assert.Equal(onDirectory, Directory.Exists(path));
        if (!onDirectory)
        {
            Assert.Equal("old", File.ReadAllText(path));
        }
    }

    /// <summary>A write that cannot open the temp file (another writer of the same file holds it) fails and leaves that
    /// writer's temp file alone: deleting it made the other writer's rename fail too.</summary>
    [Fact]
    public void A_write_that_cannot_open_the_temp_file_leaves_the_other_writers_temp_alone()
    {
        var path = Path.Combine(_dir, "target");
        using var other = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None);
        other.Write("theirs"u8);
        other.Flush();

        Assert.ThrowsAny<IOException>(() => DurableFile.Write(path, "mine"u8));

        Assert.True(File.Exists(path + ".tmp"), "the other writer's temp file was deleted");
        Assert.False(File.Exists(path));
    }
}
