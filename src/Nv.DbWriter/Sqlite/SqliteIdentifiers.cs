using System.Text.RegularExpressions;

namespace Nv.DbWriter.Sqlite;

/// <summary>Validates and quotes the only untrusted identifier that reaches SQL text: the dtoType (a table name).</summary>
/// <remarks>Everything else is bound as a parameter. A dtoType must match <c>^[A-Za-z][A-Za-z0-9_]{0,63}$</c>, must not
/// use SQLite's reserved <c>sqlite_</c> prefix, and cannot collide with Nv's own tables (they start with '_').
/// SQLite table names are case-insensitive, so two dtoTypes that differ only in case are refused by the writer.</remarks>
internal static partial class SqliteIdentifiers
{
    // \z, not $: in .NET "$" also matches before a trailing newline, which would let "Order\n" through.
    [GeneratedRegex(@"\A[A-Za-z][A-Za-z0-9_]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex DtoTypePattern();

    public static bool IsValidDtoType(string? dtoType) =>
        dtoType is not null
        && DtoTypePattern().IsMatch(dtoType)
        && !dtoType.StartsWith("sqlite_", StringComparison.OrdinalIgnoreCase);

    /// <exception cref="ArgumentException">The dtoType is not a safe identifier.</exception>
    public static void ThrowIfInvalidDtoType(string? dtoType, string paramName)
    {
        if (!IsValidDtoType(dtoType))
        {
            throw new ArgumentException(
                $"Invalid dtoType '{Printable(dtoType)}': it must match ^[A-Za-z][A-Za-z0-9_]{{0,63}}$ and not start with 'sqlite_'.",
                paramName);
        }
    }

    /// <summary>The quoted table name; only call with a validated dtoType (no quote can occur in it).</summary>
    public static string QuoteTable(string dtoType) => "\"" + dtoType + "\"";

    private static string Printable(string? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return string.Create(shown.Length, shown, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? '?' : s[i];
            }
        });
    }
}
