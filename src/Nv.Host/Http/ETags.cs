using System.Globalization;
using Nv.Wal;

namespace Nv.Host.Http;

/// <summary>Entity versions as HTTP entity tags: <c>"&lt;lsn&gt;"</c>.</summary>
internal static class ETags
{
    public static string Format(Lsn lsn) => "\"" + lsn.Value.ToString(CultureInfo.InvariantCulture) + "\"";

    /// <summary>Parses <c>"123"</c> (or <c>W/"123"</c>, or bare <c>123</c>); false when it is not a version Nv issued.</summary>
    public static bool TryParse(string? value, out Lsn lsn)
    {
        lsn = Lsn.None;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var text = value.Trim();
        if (text.StartsWith("W/", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        text = text.Trim('"');
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
        {
            return false;
        }

        lsn = new Lsn(number);
        return true;
    }
}
