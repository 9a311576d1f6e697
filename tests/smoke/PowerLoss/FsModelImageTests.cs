using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>How images are built from the modelled writes.</summary>
public sealed class FsModelImageTests
{
    // FasterLog appends to the page it is flushing: strace copied zeros past the write's last entry, the kernel may have
    // copied newer entries. Images of a file so written put each entry of the next write of those bytes there on its own:
    // not at all, its payload without its header (FasterLog writes the header last), or whole; never a header without its
    // payload, never past the write's end, never over the bytes it traced, and never in a file not so written.
    [Fact]
    public void Entries_a_write_traced_as_zeros_past_its_tail_may_be_on_disk_whole_or_without_their_header()
    {
        // The first entry's payload ends in zeros, as a WAL record without fingerprint or metadata does: the tail starts
        // where that entry ends, not at its last non-zero byte.
        var e1 = Entry("aa\0\0\0\0\0\0");
        var e2 = Entry("bbbbbbbb");
        var e3 = Entry("cccccccc");
        var traced = e1 + new string('\0', 40);
        using var dir = new TempDirectory("fsmodel-fill");
        var (model, live, file) = OneFileTrace.Build(dir, e1 + e2 + e3, (live, file) =>
        [
            $"7 openat(AT_FDCWD</>, \"{file}\", O_RDWR|O_SYNC|O_CLOEXEC) = 5<{file}>",
            $"7 pwrite64(5<{file}>, \"{Escape(traced)}\", 60, 0) = 60",
            $"7 pwrite64(5<{file}>, \"{Escape(e1 + e2 + e3)}\", 60, 0) = 60",
        ]);
        Assert.Empty(model.CompareWith(live));
        var cut = model.Events.First(e => e.Kind == "write").Exit; // after the first write only

        Assert.Equal([traced], Images(model, dir, cut, "plain"));

        model.FasterLogPageSize = name => name == Path.GetFileName(file) ? 4096 : null;
        var filled = Images(model, dir, cut, "filled");
        var allowed = (from second in States(e2) from third in States(e3) select e1 + second + third).ToHashSet();
        Assert.Subset(allowed, filled.ToHashSet());
        Assert.Contains(e1 + e2 + e3, filled);
        Assert.Contains(e1 + new string('\0', 12) + e2[12..] + new string('\0', 20), filled);
        Assert.Contains(e1 + new string('\0', 20) + e3, filled);

        static string[] States(string entry) => [new string('\0', 20), new string('\0', 12) + entry[12..], entry];
    }

    // A write that starts after the cut may carry entries FasterLog appended after the cut. Recovery adopts the newest
    // FasterLog commit record it finds: one made after the cut (a truncation's) could move the log's start past records
    // the stores' durable points had not covered at the cut, an image no power loss at the cut can leave (seen once in a
    // full host sweep: the restart refused it, exit 6). Images fill ordinary entries from such a write, never its commit
    // record or what follows it; from a write that started before the cut, both may be there.
    [Fact]
    public void A_commit_record_from_a_write_that_started_after_the_cut_is_never_filled_in()
    {
        var e1 = Entry("aaaaaaaa");
        var e2 = Entry("bbbbbbbb");
        var commit = CommitRecord("cccccccc");
        var e4 = Entry("dddddddd");
        var traced = e1 + new string('\0', 60);
        using var dir = new TempDirectory("fsmodel-fill-commit");
        var (model, live, file) = OneFileTrace.Build(dir, e1 + e2 + commit + e4, (live, file) =>
        [
            $"7 openat(AT_FDCWD</>, \"{file}\", O_RDWR|O_CLOEXEC) = 5<{file}>",
            $"7 pwrite64(5<{file}>, \"{Escape(traced)}\", 80, 0) = 80",
            $"7 fsync(5<{file}>) = 0",
            $"7 pwrite64(5<{file}>, \"{Escape(e1 + e2 + commit + e4)}\", 80, 0) = 80",
        ]);
        Assert.Empty(model.CompareWith(live));
        model.FasterLogPageSize = name => name == Path.GetFileName(file) ? 4096 : null;
        var beforeSecond = model.Events.First(e => e.Kind == "fsync").Exit;
        var afterSecond = model.Events.Last(e => e.Kind == "write").Exit;

        var early = Images(model, dir, beforeSecond, "early");
        Assert.Subset((from second in States(e2) select e1 + second + new string('\0', 40)).ToHashSet(), early.ToHashSet());
        Assert.Contains(e1 + e2 + new string('\0', 40), early);

        var late = Images(model, dir, afterSecond, "late");
        Assert.Contains(late, image => image.Contains("cccccccc", StringComparison.Ordinal));
        Assert.Contains(e1 + e2 + commit + e4, late);

        static string[] States(string entry) => [new string('\0', 20), new string('\0', 12) + entry[12..], entry];
    }

    // A FasterLog entry: an 8-byte checksum, the payload length (8, little-endian), the 8-byte payload.
    private static string Entry(string payload) => "XXXXXXXX" + "\u0008\0\0\0" + payload;

    // A FasterLog fast-commit record: as an entry, with the payload length negated (-8).
    private static string CommitRecord(string payload) => "XXXXXXXX" + "\u00f8\u00ff\u00ff\u00ff" + payload;

    private static string Escape(string bytes) => string.Concat(bytes.Select(ch => ch is >= 'a' and <= 'z' or >= 'A' and <= 'Z' ? ch.ToString() : $"\\x{(int)ch:x2}"));

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
        for (var seed = 0; seed < 400; seed++)
        {
            var image = Path.Combine(dir.Path, $"{name}-{seed}");
            model.Materialize(cut, ImagePolicy.DurableOnly, seed, image);
            seen.Add(System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(Path.Combine(image, "f"))));
        }

        return [.. seen];
    }
}
