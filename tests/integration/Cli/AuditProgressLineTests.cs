using System.Text.RegularExpressions;
using Nv.Audit;
using Nv.Cli.Commands;

namespace Nv.Integration.Tests.Cli;

/// <summary>How <c>nv audit verify|archive|prune</c> turn <see cref="AuditProgress"/> reports into stderr lines: nothing
/// before the command has run for its delay, a line per phase and chain, at most one redraw per 250 ms, and each phase's
/// last count drawn.</summary>
public sealed partial class AuditProgressLineTests
{
    [GeneratedRegex(@", \d+ [a-z]+/s$")]
    private static partial Regex Rate();

    // Nothing redrawn between a phase's start and end however slow the machine: what is drawn depends on the reports alone.
    private static readonly TimeSpan Never = TimeSpan.FromHours(1);

    // The lines without their rate (which depends on the clock).
    private static List<string> Lines(StringWriter output) =>
        [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Rate().Replace(l.TrimEnd('\r'), ""))];

    private static void Phase(AuditProgressLine line, AuditProgressPhase phase, long total, string? chain = null)
    {
        for (long done = 0; done < total; done += 1024)
        {
            line.Report(new AuditProgress(phase, done, total, chain));
        }

        line.Report(new AuditProgress(phase, total, total, chain));
    }

    [Fact]
    public void A_run_shorter_than_the_delay_draws_nothing()
    {
        var output = new StringWriter();
        var line = new AuditProgressLine("audit verify", TimeSpan.FromHours(1), output);

        Phase(line, AuditProgressPhase.VerifyEntries, 5000);
        Phase(line, AuditProgressPhase.VerifyLeaves, 5000);
        line.Done();

        Assert.Empty(output.ToString());
    }

    [Fact]
    public void NV_PROGRESS_off_draws_nothing()
    {
        var output = new StringWriter();
        var line = new AuditProgressLine("audit verify", null, output);

        Phase(line, AuditProgressPhase.VerifyEntries, 5000);
        line.Done();

        Assert.Empty(output.ToString());
    }

    [Fact]
    public void Each_phase_and_chain_gets_a_line_from_its_start_to_its_end()
    {
        var output = new StringWriter();
        var line = new AuditProgressLine("audit archive", TimeSpan.Zero, output, Never);

        Phase(line, AuditProgressPhase.ArchiveWrite, 5000, "orders");
        Phase(line, AuditProgressPhase.ArchiveFileCheck, 5000, "orders");
        Phase(line, AuditProgressPhase.ArchiveWrite, 700, "billing");
        line.Done();

        Assert.Equal(
        [
            "audit archive: writing chain 'orders': 0/5000 entries (0%)",
            "audit archive: writing chain 'orders': 5000/5000 entries (100%)",
            "audit archive: checking the archive of chain 'orders': 0/5000 entries (0%)",
            "audit archive: checking the archive of chain 'orders': 5000/5000 entries (100%)",
            "audit archive: writing chain 'billing': 0/700 entries (0%)",
            "audit archive: writing chain 'billing': 700/700 entries (100%)",
        ], Lines(output));
    }

    [Fact]
    public void The_last_count_of_a_phase_without_a_total_or_stopped_short_of_it_is_drawn_when_it_ends()
    {
        var output = new StringWriter();
        var line = new AuditProgressLine("audit verify", TimeSpan.Zero, output, Never);

        line.Report(new AuditProgress(AuditProgressPhase.ArchiveFileCheck, 0, null, "orders"));
        line.Report(new AuditProgress(AuditProgressPhase.ArchiveFileCheck, 2048, null, "orders"));
        line.Report(new AuditProgress(AuditProgressPhase.ArchiveFileCheck, 3000, null, "orders"));
        line.Done(); // the next file of the same chain starts from zero: a line of its own
        line.Report(new AuditProgress(AuditProgressPhase.ArchiveFileCheck, 0, null, "orders"));
        line.Report(new AuditProgress(AuditProgressPhase.ArchiveFileCheck, 10, null, "orders"));
        line.Report(new AuditProgress(AuditProgressPhase.VerifyEntries, 0, 9000));
        line.Report(new AuditProgress(AuditProgressPhase.VerifyEntries, 4096, 9000)); // a broken chain: verification stops here
        line.Done();

        Assert.Equal(
        [
            "audit verify: checking the archive of chain 'orders': 0 entries",
            "audit verify: checking the archive of chain 'orders': 3000 entries",
            "audit verify: checking the archive of chain 'orders': 0 entries",
            "audit verify: checking the archive of chain 'orders': 10 entries",
            "audit verify: checking hash chains: 0/9000 entries (0%)",
            "audit verify: checking hash chains: 4096/9000 entries (46%)",
        ], Lines(output));
    }

    [Fact]
    public void The_delay_counts_from_the_commands_start_so_a_phase_begun_before_it_is_drawn_once_it_has_passed()
    {
        var output = new StringWriter();
        var line = new AuditProgressLine("audit verify", TimeSpan.FromMilliseconds(500), output, Never);

        line.Report(new AuditProgress(AuditProgressPhase.VerifyEntries, 0, 50_000));
        line.Report(new AuditProgress(AuditProgressPhase.VerifyEntries, 1024, 50_000));
        Thread.Sleep(600);
        line.Report(new AuditProgress(AuditProgressPhase.VerifyEntries, 30_720, 50_000));
        line.Report(new AuditProgress(AuditProgressPhase.VerifyEntries, 50_000, 50_000));
        line.Done();

        Assert.Equal(
        [
            "audit verify: checking hash chains: 30720/50000 entries (61%)",
            "audit verify: checking hash chains: 50000/50000 entries (100%)",
        ], Lines(output));
    }
}
