namespace Nv.Cli.Commands;

/// <summary><c>NV_PROGRESS</c>: whether and when the long commands (<c>replay</c>, <c>wal verify</c>, <c>audit verify</c>,
/// <c>archive</c>, <c>prune</c>) draw their progress lines on stderr. <c>on</c>: from the start; <c>off</c>: never;
/// unset or <c>auto</c>: each command's default.</summary>
internal static class ProgressSetting
{
    public const string Variable = "NV_PROGRESS";

    /// <summary>How long the command runs before its progress lines start, or null for never.</summary>
    /// <param name="byDefault">The command's default (unset or <c>auto</c>).</param>
    /// <exception cref="BadInputException">The variable holds anything else (read before anything is opened: exit 2).</exception>
    public static TimeSpan? ShowAfter(TimeSpan byDefault)
    {
        var value = Environment.GetEnvironmentVariable(Variable)?.Trim();
        if (string.IsNullOrEmpty(value) || Is(value, "auto"))
        {
            return byDefault;
        }

        if (Is(value, "on"))
        {
            return TimeSpan.Zero;
        }

        return Is(value, "off") ? null : throw new BadInputException($"{Variable} '{value}' is not on, off or auto.");
    }

    private static bool Is(string value, string word) => string.Equals(value, word, StringComparison.OrdinalIgnoreCase);
}
