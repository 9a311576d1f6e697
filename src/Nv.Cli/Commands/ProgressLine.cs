using System.Diagnostics;
using System.Globalization;

namespace Nv.Cli.Commands;

/// <summary>A progress line on stderr for long operations, redrawn at most a few times per second.</summary>
/// <remarks>On a terminal the line is redrawn in place (<c>\r</c>); when stderr is redirected each redraw is a line of its own.
/// Nothing is drawn before <c>showAfter</c> has passed since <c>startedAt</c> (the command's start), so a quick run prints none.</remarks>
internal sealed class ProgressLine
{
    private static readonly TimeSpan DefaultRedraw = TimeSpan.FromMilliseconds(250);

    private readonly string _label;
    private readonly string _unit;
    private readonly TimeSpan? _showAfter;
    private readonly long _startedAt;
    private readonly TextWriter? _output;
    private readonly TimeSpan _redraw;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;
    private bool _drawn;
    private (long Done, long? Total)? _skipped; // the last report not drawn (too soon after the one before), drawn by Done

    /// <param name="label">What the line starts with (<c>replay</c>, <c>audit verify: checking hash chains</c>).</param>
    /// <param name="showAfter">How long after <paramref name="startedAt"/> the line may first be drawn; null: never
    /// (<see cref="ProgressSetting"/>).</param>
    /// <param name="unit">What is counted, plural.</param>
    /// <param name="startedAt">The <see cref="Stopwatch.GetTimestamp"/> the delay counts from; null: now. The rate counts from now.</param>
    /// <param name="output">Where the lines go, one per redraw (tests); null: stderr.</param>
    /// <param name="redraw">The least time between two redraws (tests); null: 250 ms.</param>
    public ProgressLine(string label, TimeSpan? showAfter, string unit = "records", long? startedAt = null, TextWriter? output = null,
        TimeSpan? redraw = null)
    {
        _redraw = redraw ?? DefaultRedraw;
        _label = label;
        _unit = unit;
        _showAfter = showAfter;
        _startedAt = startedAt ?? Stopwatch.GetTimestamp();
        _output = output;
    }

    // A terminal gets the line redrawn in place; a redirected stderr (or a given writer) a line per redraw.
    private bool InPlace => _output is null && !Console.IsErrorRedirected;

    public void Report(long done, long total) => Report(done, (long?)total);

    /// <param name="done">Items done so far.</param>
    /// <param name="total">Items expected, or null when unknown (no percentage).</param>
    public void Report(long done, long? total)
    {
        if (_showAfter is not { } after || Stopwatch.GetElapsedTime(_startedAt) < after)
        {
            return;
        }

        if (_drawn && _clock.Elapsed - _last < _redraw && done < (total ?? long.MaxValue))
        {
            _skipped = (done, total);
            return;
        }

        Draw(done, total);
    }

    /// <summary>Ends the line: draws the last count if it was skipped (a total that was not known, or a phase that stopped
    /// short of it), and ends the line on a terminal (what stdout prints next starts on a line of its own).</summary>
    public void Done()
    {
        if (_skipped is { } last)
        {
            Draw(last.Done, last.Total);
        }

        if (_drawn && InPlace)
        {
            Console.Error.WriteLine();
        }
    }

    private void Draw(long done, long? total)
    {
        _skipped = null;
        _last = _clock.Elapsed;
        var rate = done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var inv = CultureInfo.InvariantCulture;
        var line = total is { } t
            ? string.Create(inv, $"{_label}: {done}/{t} {_unit} ({(t > 0 ? 100.0 * done / t : 100.0):F0}%), {rate:F0} {_unit}/s")
            : string.Create(inv, $"{_label}: {done} {_unit}, {rate:F0} {_unit}/s");
        if (InPlace)
        {
            Console.Error.Write("\r" + line);
        }
        else
        {
            (_output ?? Console.Error).WriteLine(line);
        }

        _drawn = true;
    }
}
