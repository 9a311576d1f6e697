using System.Diagnostics;
using Nv.Audit;

namespace Nv.Cli.Commands;

/// <summary>The progress of <c>nv audit verify</c>, <c>archive</c> and <c>prune</c> on stderr: one <see cref="ProgressLine"/>
/// per phase (and chain), none before the command has run for <see cref="ProgressSetting"/>'s delay (1 s by default).</summary>
/// <remarks>Reports come from the thread doing the work, one at a time (the library calls <see cref="Report"/> directly:
/// no <see cref="Progress{T}"/>, whose posted reports could arrive out of order or after the summary). Stdout is untouched.</remarks>
internal sealed class AuditProgressLine : IProgress<AuditProgress>
{
    /// <summary>How long an audit command runs before its progress shows, unless <c>NV_PROGRESS</c> says otherwise.</summary>
    public static readonly TimeSpan DefaultDelay = TimeSpan.FromSeconds(1);

    private readonly string _command;
    private readonly TimeSpan? _showAfter;
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private readonly TextWriter? _output;
    private readonly TimeSpan? _redraw;
    private ProgressLine? _line;
    private AuditProgressPhase _phase;
    private string? _chain;
    private long _done;

    /// <param name="command">The command's name, which starts every line (<c>audit verify</c>).</param>
    /// <param name="showAfter">From <see cref="ProgressSetting.ShowAfter"/>; null: draw nothing.</param>
    /// <param name="output">Where the lines go (tests); null: stderr.</param>
    /// <param name="redraw">The least time between two redraws of a line (tests); null: 250 ms.</param>
    public AuditProgressLine(string command, TimeSpan? showAfter, TextWriter? output = null, TimeSpan? redraw = null)
    {
        _command = command;
        _showAfter = showAfter;
        _output = output;
        _redraw = redraw;
    }

    public void Report(AuditProgress value)
    {
        // A new phase, another chain, or the same phase started again (the next archive file of a chain): a new line.
        if (_line is null || value.Phase != _phase || !string.Equals(value.Chain, _chain, StringComparison.Ordinal) || value.Done < _done)
        {
            _line?.Done();
            _phase = value.Phase;
            _chain = value.Chain;
            _line = new ProgressLine($"{_command}: {Label(value)}", _showAfter, Unit(value.Phase), _startedAt, _output, _redraw);
        }

        _done = value.Done;
        _line.Report(value.Done, value.Total);
    }

    /// <summary>Ends the current line (call it before printing to stdout, so a terminal shows the two apart).</summary>
    public void Done()
    {
        _line?.Done();
        _line = null;
    }

    private static string Label(AuditProgress value) => value.Phase switch
    {
        AuditProgressPhase.VerifyEntries => "checking hash chains",
        AuditProgressPhase.VerifyCheckpoints => "checking checkpoints",
        AuditProgressPhase.VerifyLeaves => "checking Merkle leaves",
        AuditProgressPhase.ArchiveWrite => $"writing chain '{value.Chain}'",
        AuditProgressPhase.ArchiveFileCheck => $"checking the archive of chain '{value.Chain}'",
        AuditProgressPhase.PruneDelete => $"deleting chain '{value.Chain}'",
        _ => value.Phase.ToString(),
    };

    private static string Unit(AuditProgressPhase phase) => phase switch
    {
        AuditProgressPhase.VerifyCheckpoints => "checkpoints",
        AuditProgressPhase.VerifyLeaves => "leaves",
        _ => "entries",
    };
}
