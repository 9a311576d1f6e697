using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http;

/// <summary>The <c>X-Dto-Version</c> header: a write's DTO schema version (default 1), and on reads the version the entity
/// is stored with.</summary>
internal static class DtoVersionHeader
{
    public const string Name = "X-Dto-Version";

    /// <summary>Largest version accepted (the pipeline's own limit).</summary>
    public const int Max = 1_000_000;

    /// <summary>Reads the header: null when absent; false when it is not a whole number between 0 and <see cref="Max"/>.</summary>
    public static bool TryRead(HttpContext context, out int? version)
    {
        version = null;
        if (!context.Request.Headers.TryGetValue(Name, out var values) || values.Count == 0)
        {
            return true;
        }

        if (values.Count == 1 && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed <= Max)
        {
            version = parsed;
            return true;
        }

        return false;
    }

    public static IResult Invalid(HttpContext context) =>
        Problems.Validation(context, $"{Name} must be one whole number between 0 and {Max}.", Name);

    public static void Write(HttpContext context, int version) =>
        context.Response.Headers[Name] = version.ToString(CultureInfo.InvariantCulture);
}
