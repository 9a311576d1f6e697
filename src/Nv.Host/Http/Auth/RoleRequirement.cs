namespace Nv.Host.Http.Auth;

/// <summary>Endpoint metadata: the role a caller needs (enforced by <see cref="NvAuthMiddleware"/>).</summary>
internal sealed record RoleRequirement(string Role);
