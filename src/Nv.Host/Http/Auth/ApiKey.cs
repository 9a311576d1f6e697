namespace Nv.Host.Http.Auth;

/// <summary>One configured API key: its name (the user id of its requests), its roles and the SHA-256 of the secret.</summary>
internal sealed record ApiKey(string Name, IReadOnlySet<string> Roles, string Sha256Hex);
