using Microsoft.AspNetCore.Http;

namespace Nv.Host.Http.Ui;

/// <summary>The response headers every audit explorer file is served with.</summary>
/// <remarks>The page shows values written by any API caller (entity payloads, reasons, metadata), so it treats them as
/// hostile: the scripts put them into the DOM as text only, and the policy below is the second line: scripts only from
/// this origin's files (no inline script, no inline event handler, no <c>eval</c>), no plug-ins, no framing, and fetches
/// only to this origin, so even injected markup could neither run nor send data elsewhere.</remarks>
internal static class UiSecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "
        + "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
        // Revalidate every time (the ETag makes that cheap): a new Nv version must never run against old scripts.
        headers.CacheControl = "no-cache";
    }
}
