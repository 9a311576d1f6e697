namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>One system call from an strace log: its name, raw argument text, return value and where it started and ended.</summary>
/// <remarks>Positions are line numbers of the trace. strace handles one stop at a time and prints a line before it lets the
/// thread go on, so if one call's <see cref="Exit"/> is before another's <see cref="Entry"/>, the first finished (in the
/// kernel) before the second started. <see cref="Exit"/> is <see cref="int.MaxValue"/> for a call still running when the
/// process died (its effect may or may not have happened).</remarks>
internal sealed record Syscall(int Tid, string Name, string Args, string? Return, int Entry, int Exit)
{
    public bool Finished => Exit != int.MaxValue;

    /// <summary>The numeric return value; null for <c>?</c> (unknown) or an unfinished call.</summary>
    public long? ReturnValue
    {
        get
        {
            if (Return is null)
            {
                return null;
            }

            var end = 0;
            while (end < Return.Length && (char.IsAsciiDigit(Return[end]) || (end == 0 && Return[end] == '-')))
            {
                end++;
            }

            return end == 0 || (end == 1 && Return[0] == '-') ? null : long.Parse(Return.AsSpan(0, end), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The path strace annotated the return value with (<c>-y</c>: <c>= 5&lt;/path&gt;</c>), or null.</summary>
    public string? ReturnPath
    {
        get
        {
            if (Return is null)
            {
                return null;
            }

            var open = Return.IndexOf('<', StringComparison.Ordinal);
            var close = Return.LastIndexOf('>');
            return open > 0 && close > open ? Return[(open + 1)..close] : null;
        }
    }

    public bool Succeeded => ReturnValue is >= 0;
}
