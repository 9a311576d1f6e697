using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nv.Host.Http;
using Nv.Host.Http.Auth;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers what Nv's HTTP API needs: options, API keys, request handlers, Problem+json shaping and the
/// request body limit.</summary>
public static class NvHttpServiceCollectionExtensions
{
    /// <summary>Adds the services of Nv's HTTP API (call <c>AddNv()</c> too, then <c>app.UseNv()</c> and
    /// <c>app.MapNvEndpoints()</c>).</summary>
    /// <remarks>Binds <c>Nv:Http</c> (request body and connection limits, applied to Kestrel; change-feed stream limits;
    /// denial audit limits, whose summaries a hosted service writes; validated at start) and <c>Nv:Auth</c> (API keys). Problem
    /// details carry the request id instead of a trace id, so a retried request gets an identical body.</remarks>
    public static IServiceCollection AddNvHttp(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HttpOptions>, HttpOptionsValidator>());
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName);
        services.TryAddSingleton(sp => new ApiKeyStore(sp.GetRequiredService<IOptions<AuthOptions>>()));
        services.TryAddSingleton<JsonBodyReader>();
        services.TryAddSingleton<EntityHandler>();
        services.TryAddSingleton<BatchHandler>();
        services.TryAddSingleton<AuditHandler>();
        services.TryAddSingleton<AuditEventHandler>();
        services.TryAddSingleton<ChangeStreamLimit>();
        services.TryAddSingleton<AuditReadLimit>();
        services.TryAddSingleton<DenialLimiter>();
        services.TryAddSingleton<DenialAuditor>();
        services.TryAddSingleton<DenialSummaryWriter>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DenialSummaryWriter>(static sp => sp.GetRequiredService<DenialSummaryWriter>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<KestrelServerOptions>, KestrelLimits>());
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            // Identical outcomes must give identical bodies (idempotent retries): the request id names the request, not a trace id.
            ctx.ProblemDetails.Extensions.Remove("traceId");
            ctx.ProblemDetails.Extensions.TryAdd("requestId", RequestIds.For(ctx.HttpContext));
            if (ctx.ProblemDetails.Type is null || ctx.ProblemDetails.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                (ctx.ProblemDetails.Type, ctx.ProblemDetails.Detail) = ctx.ProblemDetails.Status switch
                {
                    StatusCodes.Status404NotFound => (ProblemTypes.NotFound, ctx.ProblemDetails.Detail ?? "No endpoint matches this path."),
                    StatusCodes.Status405MethodNotAllowed => (ProblemTypes.MethodNotAllowed, ctx.ProblemDetails.Detail ?? "This endpoint does not accept this method."),
                    StatusCodes.Status413PayloadTooLarge => (ProblemTypes.TooLarge, ctx.ProblemDetails.Detail ?? "The body exceeds the configured limit."),
                    StatusCodes.Status415UnsupportedMediaType => (ProblemTypes.UnsupportedMediaType, ctx.ProblemDetails.Detail ?? "Unsupported media type."),
                    >= 500 => (ProblemTypes.Internal, ctx.ProblemDetails.Detail ?? "An unexpected error occurred."),
                    _ => (ProblemTypes.Validation, ctx.ProblemDetails.Detail ?? "The request is invalid."),
                };
            }
        });
        return services;
    }

    // Kestrel refuses bodies over Nv:Http:MaxRequestBodyBytes unread, and connections over Nv:Http:MaxConcurrentConnections.
    private sealed class KestrelLimits(IOptions<HttpOptions> http) : IConfigureOptions<KestrelServerOptions>
    {
        public void Configure(KestrelServerOptions options)
        {
            options.Limits.MaxRequestBodySize = http.Value.MaxRequestBodyBytes;
            options.Limits.MaxConcurrentConnections = http.Value.MaxConcurrentConnections;
            options.AddServerHeader = false;
        }
    }
}
