using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Nv.Integration.Tests.Http;

/// <summary>Test only: sets the connection's remote address from <c>X-Test-Remote</c>, first in the pipeline, so an
/// in-process server (which has no remote address) can play callers at several addresses.</summary>
internal sealed class RemoteAddressFromHeader : IStartupFilter
{
    public const string Header = "X-Test-Remote";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, then) =>
        {
            if (IPAddress.TryParse(context.Request.Headers[Header].ToString(), out var address))
            {
                context.Connection.RemoteIpAddress = address;
            }

            return then(context);
        });
        next(app);
    };
}
