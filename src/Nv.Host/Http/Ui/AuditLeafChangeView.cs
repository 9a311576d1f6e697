using System.Text.Json.Serialization;

namespace Nv.Host.Http.Ui;

/// <summary>One field change as the canonical encoding holds it: a side that does not exist (field added or removed) is
/// left out, a JSON <c>null</c> side is the text <c>"null"</c>.</summary>
internal sealed record AuditLeafChangeView(
    string Path,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Before,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? After);
