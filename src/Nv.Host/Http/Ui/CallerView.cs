namespace Nv.Host.Http.Ui;

/// <summary>Who the presented API key is, as <c>GET /v1/me</c> answers: the page shows only the views its roles allow.</summary>
/// <param name="User">The key's name (the user id of its requests); with authentication off, the <c>X-User-Id</c> header.</param>
/// <param name="Roles">Granted roles, sorted.</param>
/// <param name="Authenticated">Whether a configured key was presented and recognised.</param>
/// <param name="KeysRequired">Whether this host has API keys configured (false: authentication is off, every role is granted).</param>
internal sealed record CallerView(string? User, IReadOnlyList<string> Roles, bool Authenticated, bool KeysRequired);
