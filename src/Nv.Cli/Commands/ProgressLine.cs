using System.Diagnostics;
using System.Globalization;

namespace Nv.Cli.Commands;

/// <summary>A progress line on stderr for long operations, redrawn at most a few times per second.</summary>
internal sealed class ProgressLine
{
    private readonly string _label;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;
    private bool _drawn;

    public ProgressLine(string label) => _label = label;

    public void Report(long done, long total)
    {
        if (_drawn && _clock.Elapsed - _last < TimeSpan.FromMilliseconds(250) && done < total)
        {
            return;
        }

        _last = _clock.Elapsed;
        var pct = total > 0 ? 100.0 * done / total : 100.0;
        var rate = done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var line = string.Create(CultureInfo.InvariantCulture, $"{_label}: {done}/{total} records ({pct:F0}%), {rate:F0} records/s");
        Console.Error.Write(Console.IsErrorRedirected ? line + Environment.NewLine : "\r" + line);
        _drawn = true;
    }

    public void Done()
    {
        if (_drawn && !Console.IsErrorRedirected)
        {
            Console.Error.WriteLine();
        }
    }
}
