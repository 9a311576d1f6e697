using Microsoft.AspNetCore.Builder;

namespace Nv.Host.Http.Auth;

/// <summary>Declares which role an endpoint or group needs; use it on every new endpoint (proofs: <c>auditor</c>).</summary>
public static class RoleRequirementExtensions
{
    /// <summary>Requires the caller to hold <paramref name="role"/> (see <see cref="NvRoles"/>); denials are answered 401/403 and audited.</summary>
    public static TBuilder RequireNvRole<TBuilder>(this TBuilder builder, string role)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new RoleRequirement(role));
        return builder;
    }
}
