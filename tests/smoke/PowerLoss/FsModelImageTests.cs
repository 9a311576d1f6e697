using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>How images are built from the modelled writes.</summary>
public sealed class FsModelImageTests
{
    // FasterLog appends to the page it is flushing: strace copied zeros past the tail, the kernel may have copied newer
    // bytes. Images of a file so written put a prefix of the next write of the same bytes there, some of the time; never
    // past the write's end, never over the bytes the write traced, and never in a file not so written.
    [Fact]
    public void Zeros_a_write_traced_past_its_tail_may_hold_a_prefix_of_the_next_write_of_the_same_bytes()
    {
        using var dir = new TempDirectory("fsmodel-fill");
        var (model, live, file) = OneFileTrace.Build(dir, "abcdefgh", (live, file) =>
        [
            $"7 openat(AT_FDCWD</>, \"{file}\", O_RDWR|O_SYNC|O_CLOEXEC) = 5<{file}>",
            $"7 pwrite64(5<{file}>, \"ab\\0\\0\", 4, 0) = 4",
            $"7 pwrite64(5<{file}>, \"abcdefgh\", 8, 0) = 8",
        ]);
        Assert.Empty(model.CompareWith(live));
        var cut = model.Events.First(e => e.Kind == "write").Exit; // after the first write only

        var plain = Images(model, dir, cut, "plain");
        Assert.Equal(["ab\0\0"], plain);

        model.FilledWhileWritten = name => name == Path.GetFileName(file);
        var filled = Images(model, dir, cut, "filled");
        Assert.Equal(["ab\0\0", "abc\0", "abcd"], filled);
    }

    [Theory]
    [InlineData("nv.log.0", true)]
    [InlineData("nv.log.12", true)]
    [InlineData("nv.log.3.broken", false)]
    [InlineData("nv.db-wal", false)]
    [InlineData("nv.log.", false)]
    public void Only_FasterLogs_segment_files_are_filled_while_written(string name, bool expected) =>
        Assert.Equal(expected, FsModel.IsWalSegment(name));

    // The distinct contents of f over many image seeds, in order.
    private static List<string> Images(FsModel model, TempDirectory dir, int cut, string name)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        for (var seed = 0; seed < 64; seed++)
        {
            var image = Path.Combine(dir.Path, $"{name}-{seed}");
            model.Materialize(cut, ImagePolicy.DurableOnly, seed, image);
            seen.Add(File.ReadAllText(Path.Combine(image, "f")));
        }

        return [.. seen];
    }
}
