using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>The trace reader's reading of how a call ended, and what the model makes of a call whose end is unknown.</summary>
public sealed class StraceLogTests
{
    [Fact]
    public void A_call_that_ended_with_a_question_mark_or_an_unnamed_errno_is_unknown_and_a_named_errno_is_a_failure()
    {
        var calls = ReadTrace(
            "7 pwrite64(5</d/f>, \"ab\", 2, 0) = 2",
            "7 pwrite64(5</d/f>, \"cd\", 2, 2) = -1 ENOSPC (No space left on device)",
            "9 pwrite64(5</d/f>, \"gh\", 2, 6) = -1 (errno 600)",
            "7 pwrite64(5</d/f>, \"ef\", 2, 4 <unfinished ...>",
            "8 fsync(6</d/g>) = ?",
            "7 <... pwrite64 resumed>) = -1 (errno 18446744073709551598)");

        Assert.Equal(5, calls.Count);
        Assert.True(calls[0].Finished && calls[0].Succeeded);
        Assert.True(calls[1].Finished && !calls[1].Succeeded);
        Assert.True(calls[2].Finished && !calls[2].Succeeded, "an errno without a name but in range is a failure");
        var fsync = calls.Single(c => c.Name == "fsync");
        Assert.False(fsync.Finished);
        var killed = calls.Single(c => c.Args.Contains("\"ef\"", StringComparison.Ordinal));
        Assert.False(killed.Finished);
    }

    [Fact]
    public void A_thread_that_makes_a_call_after_one_it_died_in_is_refused()
    {
        var error = Assert.Throws<FormatException>(() => ReadTrace(
            "7 pwrite64(5</d/f>, \"ab\", 2, 0) = -1 (errno 18446744073709551598)",
            "7 fsync(5</d/f>) = 0"));
        Assert.Contains("thread 7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_a_signal_interrupted_before_it_did_anything_is_a_failure_and_its_thread_goes_on()
    {
        var calls = ReadTrace(
            "9 write(1<pipe:[1]>, \"x\", 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
            "9 write(1<pipe:[1]>, \"x\", 1) = 1");

        Assert.True(calls[0].Finished && !calls[0].Succeeded);
        Assert.True(calls[1].Finished && calls[1].Succeeded);
    }

    // Seen in CI: a thread SIGKILLed inside SQLite's write of a WAL frame header (here, reproduced, of a page); the bytes
    // reached the page cache, and strace printed the write's answer as "-1 (errno 18446744073709551598)". Read as a
    // failure, the model left them out and reported "nv.db-wal: 2566816 bytes on disk, the model says 2566792" for a run
    // that did nothing wrong.
    [Fact]
    public void The_model_accepts_a_write_whose_answer_strace_could_not_name_having_happened()
    {
        string[] calls =
        [
            "7 pwrite64(5<FILE>, \"abcd\", 4, 4) = 4",
            "7 pwrite64(5<FILE>, \"efgh\", 4, 8 <unfinished ...>",
            "9 openat(AT_FDCWD</>, \"/proc/self/stat\", O_RDONLY) = ?",
            "7 <... pwrite64 resumed>) = -1 (errno 18446744073709551598)",
        ];

        Assert.Empty(Problems("0000abcdefgh", calls));
        Assert.Single(Problems("0000abcdefghij", calls)); // the check still sees bytes no call could have written
    }

    [Fact]
    public void An_open_with_O_TRUNC_the_process_died_in_may_have_emptied_the_file()
    {
        Assert.Empty(Problems("", "8 openat(AT_FDCWD</>, \"FILE\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = ?"));
        Assert.Empty(Problems("0000", "8 openat(AT_FDCWD</>, \"FILE\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = ?"));
    }

    // The check stays strict around a call whose effect is unknown: a write never shortens a file, and the bytes it may have
    // written are its own, except where strace saw zeros (a buffer the program went on filling, as FasterLog does).
    [Theory]
    [InlineData("0000ab", "efgh", "6 bytes on disk")] // cut below what the finished calls wrote
    [InlineData("0000abXdefgh", "efgh", "first differing byte at offset 6")] // neither the model's byte nor the unknown write's
    [InlineData("0000abcdefXh", "efgh", "past the model")] // past the model, not the unknown write's byte
    [InlineData("0000abcdefghij", "efgh", "14 bytes on disk")] // past the unknown write's end
    [InlineData("0000abcdefXY", "ef\\x00\\x00", null)] // traced as zeros: newer bytes may have landed
    public void The_model_still_reports_what_no_call_could_have_left_around_an_unknown_write(string onDisk, string unknownWrite, string? expected)
    {
        var problems = Problems(onDisk, "7 pwrite64(5<FILE>, \"abcd\", 4, 4) = 4", $"7 pwrite64(5<FILE>, \"{unknownWrite}\", 4, 8) = ?");

        if (expected is null)
        {
            Assert.Empty(problems);
        }
        else
        {
            Assert.Contains(expected, Assert.Single(problems), StringComparison.Ordinal);
        }
    }

    // The model's differences from the directory the run left, for a trace that opens "f" as descriptor 5, then makes the
    // calls (FILE stands for its path).
    private static List<string> Problems(string onDisk, params string[] calls)
    {
        using var dir = new TempDirectory("strace-model");
        var (model, live, _) = OneFileTrace.Build(dir, onDisk, (live, file) =>
            [$"7 openat(AT_FDCWD<{live}>, \"{file}\", O_RDWR|O_CLOEXEC) = 5<{file}>", .. calls.Select(c => c.Replace("FILE", file, StringComparison.Ordinal))]);
        return model.CompareWith(live);
    }

    private static List<Syscall> ReadTrace(params string[] lines)
    {
        using var dir = new TempDirectory("strace-log");
        var trace = Path.Combine(dir.Path, "trace.txt");
        File.WriteAllLines(trace, lines);
        return StraceLog.Read(trace).ToList();
    }
}
