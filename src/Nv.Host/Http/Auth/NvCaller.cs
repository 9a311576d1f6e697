namespace Nv.Host.Http.Auth;

/// <summary>Who is calling: the authenticated key (or, with authentication off, the <c>X-User-Id</c> header).</summary>
/// <param name="UserId">The user id written to the WAL and audit trail.</param>
/// <param name="Roles">Granted roles.</param>
/// <param name="Authenticated">False when authentication is disabled.</param>
internal sealed record NvCaller(string? UserId, IReadOnlySet<string> Roles, bool Authenticated)
{
    public const string ItemKey = "nv.caller";
}
