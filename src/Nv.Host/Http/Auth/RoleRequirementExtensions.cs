using Microsoft.AspNetCore.Builder;

namespace Nv.Host.Http.Auth;

/// <summary>Declares which role an endpoint or group needs; use it on every new endpoint (proofs: <c>auditor</c>).</summary>
internal static class RoleRequirementExtensions
{
    public static TBuilder RequireNvRole<TBuilder>(this TBuilder builder, string role)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RoleRequirement(role));
        return builder;
    }
}
