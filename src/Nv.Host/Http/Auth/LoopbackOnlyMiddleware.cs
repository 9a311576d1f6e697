using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Nv.Host.Http.Auth;

/// <summary>With authentication off (no API keys), serves only requests that reached this host over loopback and name it
/// by a loopback name: any other <c>Host</c> (DNS rebinding: a web page whose name now resolves to 127.0.0.1) or a
/// connection that arrived on a non-loopback local address is answered <c>421 host-not-allowed</c>, and nothing else runs.</summary>
/// <remarks>Accepted hosts: <c>localhost</c> and loopback IP literals (<c>127.0.0.1</c>, <c>[::1]</c>, ...), any port. A
/// browser sends the name it resolved, so a rebinding page cannot send one of these. The local-address check holds
/// whatever the host was told to listen on (<c>nv serve</c> also refuses to run on a non-loopback address,
/// <see cref="NvHttpStartup.CheckListening"/>); an in-process server (TestServer) has no local address and only the Host
/// check applies. With API keys configured this middleware does nothing: every endpoint checks its key.</remarks>
internal sealed class LoopbackOnlyMiddleware
{
    private readonly RequestDelegate _next;
    private readonly ApiKeyStore _keys;
    private readonly ILogger _logger;

    public LoopbackOnlyMiddleware(RequestDelegate next, ApiKeyStore keys, ILogger<LoopbackOnlyMiddleware> logger)
    {
        _next = next;
        _keys = keys;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        if (_keys.Enabled)
        {
            await _next(context);
            return;
        }

        var local = context.Connection.LocalIpAddress;
        var host = context.Request.Host.Host;
        if (local is not null && !LoopbackGuard.IsLoopback(local))
        {
            await RefuseAsync(context, host, local.ToString(),
                $"Authentication is off (no API keys), so this host serves only loopback connections; this one arrived on {local}.");
            return;
        }

        if (!LoopbackGuard.IsLoopbackHost(host))
        {
            await RefuseAsync(context, host, local?.ToString() ?? "none",
                $"Authentication is off (no API keys), so this host answers only requests for localhost, 127.0.0.1 or [::1]; " +
                $"Host '{DenialAuditor.Trim(host, 128)}' is not one of them.");
            return;
        }

        await _next(context);
    }

    private Task RefuseAsync(HttpContext context, string host, string local, string detail)
    {
        Log.NotLoopbackRefused(_logger, DenialAuditor.Trim(host, 128), local);
        return Problems.Create(context, StatusCodes.Status421MisdirectedRequest, ProblemTypes.HostNotAllowed, "Host not allowed", detail)
            .ExecuteAsync(context);
    }
}
