using System.Text.Json;

namespace Nv.Host.Http;

/// <summary>An entity's state as of a time, rebuilt from the audit trail's after-image of the last change at or before it.</summary>
internal sealed record EntityAsOfView(
    string DtoType, string EntityId, DateTimeOffset AsOf, long? Lsn, DateTimeOffset ChangedAt, string Operation, string RequestId, JsonElement Document);
