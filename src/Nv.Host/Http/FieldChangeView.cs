using System.Text.Json;

namespace Nv.Host.Http;

/// <summary>One field-level difference in an audit entry's JSON shape.</summary>
internal sealed record FieldChangeView(string Path, JsonElement? Before, JsonElement? After);
