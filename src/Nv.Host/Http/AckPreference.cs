using Microsoft.AspNetCore.Http;
using Nv.Host.Pipeline;

namespace Nv.Host.Http;

/// <summary>The <c>Prefer: nv-ack=durable|applied|audited</c> request preference (RFC 7240) and its
/// <c>Preference-Applied</c> answer.</summary>
/// <remarks>An unknown value of <c>nv-ack</c> is refused (400) rather than ignored: a caller that asked for Audited and
/// silently got Applied would believe something that is not true. Other preferences are ignored, as RFC 7240 allows.</remarks>
internal static class AckPreference
{
    public const string Token = "nv-ack";

    /// <summary>Reads the preference: null when absent; false when <c>nv-ack</c> has an unknown value.</summary>
    public static bool TryRead(HttpContext context, out AckLevel? ack)
    {
        ack = null;
        foreach (var header in context.Request.Headers["Prefer"])
        {
            foreach (var part in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var preference = part.Split(';', 2)[0];
                var eq = preference.IndexOf('=', StringComparison.Ordinal);
                var name = (eq < 0 ? preference : preference[..eq]).Trim();
                if (!name.Equals(Token, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var value = eq < 0 ? "" : preference[(eq + 1)..].Trim().Trim('"');
                ack = value.ToLowerInvariant() switch
                {
                    "durable" => AckLevel.Durable,
                    "applied" => AckLevel.Applied,
                    "audited" => AckLevel.Audited,
                    _ => null,
                };
                if (ack is null)
                {
                    return false;
                }
            }
        }

        return true;
    }

    public static void Applied(HttpContext context, AckLevel ack) =>
        context.Response.Headers["Preference-Applied"] = Token + "=" + ack.ToString().ToLowerInvariant();
}
