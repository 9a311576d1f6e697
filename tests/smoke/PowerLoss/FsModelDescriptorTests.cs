using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>The model's descriptor table against calls of several threads that finish out of order.</summary>
public sealed class FsModelDescriptorTests
{
    // Seen in a WAL power-loss run (trace kept): one thread's close(54) of a directory started, the kernel freed 54, another
    // thread's open of a new segment got 54 and finished first; the close, modelled when it finished, forgot the segment's
    // O_SYNC descriptor, so its writes looked unsynced and a DurableOnly image kept commit metadata naming bytes it had
    // dropped: "the log does not open ... ends before the committed address".
    [Fact]
    public void A_close_that_finishes_after_another_thread_reused_its_number_keeps_the_new_descriptor()
    {
        using var dir = new TempDirectory("fsmodel-fd");
        var (model, live, file) = OneFileTrace.Build(dir, "abcd", (live, file) =>
        [
            $"8 openat(AT_FDCWD</>, \"{live}\", O_RDONLY) = 5<{live}>",
            $"8 close(5<{live}> <unfinished ...>",
            $"7 openat(AT_FDCWD</>, \"{file}\", O_RDWR|O_SYNC|O_CLOEXEC) = 5<{file}>",
            "8 <... close resumed>) = 0",
            $"7 pwrite64(5<{file}>, \"abcd\", 4, 0) = 4",
        ]);

        Assert.Empty(model.CompareWith(live));
        var image = Path.Combine(dir.Path, "image");
        model.Materialize(model.End, ImagePolicy.DurableOnly, 1, image);
        Assert.Equal("abcd", File.ReadAllText(Path.Combine(image, Path.GetFileName(file)))); // O_SYNC: durable once it returned
    }

    [Fact]
    public void A_dup2_from_an_untracked_descriptor_replaces_what_the_number_held()
    {
        using var dir = new TempDirectory("fsmodel-fd");
        var (model, live, _) = OneFileTrace.Build(dir, "0000", (_, file) =>
        [
            $"7 openat(AT_FDCWD</>, \"{file}\", O_RDWR|O_SYNC|O_CLOEXEC) = 5<{file}>",
            "7 dup2(7<pipe:[3]>, 5) = 5<pipe:[3]>",
            "7 pwrite64(5<pipe:[3]>, \"zz\", 2, 0) = 2",
        ]);

        Assert.Empty(model.CompareWith(live)); // the write went to the pipe, not to f
    }
}
