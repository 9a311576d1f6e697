using Microsoft.AspNetCore.Http;
using Nv.Host.Pipeline;

namespace Nv.Host.Http;

/// <summary>The <c>Prefer: nv-ack=durable|applied|audited</c> request preference (RFC 7240) and its
/// <c>Preference-Applied</c> answer.</summary>
/// <remarks>An unknown value of <c>nv-ack</c> is refused (400) rather than ignored: a caller that asked for Audited and
/// silently got Applied would believe something that is not true. Other preferences are ignored, as RFC 7240 allows.
/// For the same reason <c>Preference-Applied</c> names the level the answer actually stands for, taken from the outcome
/// returned, not the level asked for: a retry is answered from its first attempt, whatever level the retry asks.</remarks>
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

    /// <summary>Sets <c>Preference-Applied</c> to the level the answer stands for (<see cref="Reached"/>); none when it
    /// stands for none (a 503).</summary>
    /// <param name="context">The request.</param>
    /// <param name="status">The status of the outcome answered.</param>
    /// <param name="isAudited">Whether that outcome was answered after its audit entry was committed.</param>
    public static void Applied(HttpContext context, WriteStatus status, bool isAudited)
    {
        if (Reached(status, isAudited) is { } level)
        {
            context.Response.Headers["Preference-Applied"] = Token + "=" + level.ToString().ToLowerInvariant();
        }
    }

    /// <summary>The level an answer stands for: <see cref="AckLevel.Durable"/> for an accepted write (202);
    /// <see cref="AckLevel.Audited"/> for an outcome answered after its audit entry was committed
    /// (<see cref="WriteOutcome.IsAudited"/>: not during an audit outage, when the entry is parked, nor for a rejection,
    /// which has none); <see cref="AckLevel.Applied"/> for any other decided outcome (a retry answered from a stored
    /// outcome does not know whether the entry is in the trail yet); none for a pending write (503: durable, not decided,
    /// and the answer is an error).</summary>
    public static AckLevel? Reached(WriteStatus status, bool isAudited) => status switch
    {
        WriteStatus.Accepted => AckLevel.Durable,
        WriteStatus.Applied or WriteStatus.Rejected => isAudited ? AckLevel.Audited : AckLevel.Applied,
        _ => null,
    };
}
