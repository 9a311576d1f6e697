using System.Text.Json;

namespace Nv.Audit;

/// <summary>One field-level difference between an entity's before and after state.</summary>
/// <param name="Path">JSON-pointer-like path of the field, e.g. <c>/address/city</c>.</param>
/// <param name="Before">Old value, null when the field was added.</param>
/// <param name="After">New value, null when the field was removed.</param>
public sealed record FieldChange(string Path, JsonElement? Before, JsonElement? After);
