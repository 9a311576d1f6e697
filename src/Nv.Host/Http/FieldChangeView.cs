using System.Text.Json;

namespace Nv.Host.Http;

/// <summary>One field-level difference in an audit entry's JSON shape.</summary>
/// <param name="Path">The field's JSON pointer-like path.</param>
/// <param name="Before">The value before (null when added).</param>
/// <param name="After">The value after (null when removed).</param>
public sealed record FieldChangeView(string Path, JsonElement? Before, JsonElement? After);
