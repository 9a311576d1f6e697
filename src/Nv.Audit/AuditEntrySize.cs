using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Nv.Audit;

/// <summary>What an entry weighs on a page: about the bytes of its JSON form (<see cref="AuditQuery.MaxBytes"/>).</summary>
/// <remarks>The JSON images and field changes as stored (their raw UTF-8 text), the text fields, the metadata, sealed
/// ciphertext as base64, plus a fixed allowance for the ids, hashes, timestamps and member names. Cheap: nothing is
/// serialized. A JSON writer that escapes non-ASCII characters (<c>\u00e9</c>) makes the answer larger than this.</remarks>
internal static class AuditEntrySize
{
    /// <summary>Ids, sequence, timestamp, category, the two 64-character hashes, the WAL record hash and the member names.</summary>
    public const int Fixed = 512;

    /// <summary>Per field change and per metadata pair: the member names and punctuation around them.</summary>
    public const int PerItem = 48;

    public static long Of(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        long size = Fixed
            + Text(entry.Service) + Text(entry.Operation) + Text(entry.UserId) + Text(entry.DtoType) + Text(entry.EntityId)
            + Text(entry.RequestId) + Text(entry.Reason)
            + Json(entry.Before) + Json(entry.After)
            + (entry.Sealed is { } sealedData ? (sealedData.Length + 2) / 3 * 4 : 0);
        foreach (var (key, value) in entry.Metadata)
        {
            size += PerItem + Text(key) + Text(value);
        }

        foreach (var change in entry.Changes)
        {
            size += PerItem + Text(change.Path) + Json(change.Before) + Json(change.After);
        }

        return size;
    }

    private static int Text(string? value) => value is null ? 0 : Encoding.UTF8.GetByteCount(value);

    private static int Json(JsonElement? value) => value is { ValueKind: not JsonValueKind.Undefined } element
        ? JsonMarshal.GetRawUtf8Value(element).Length
        : 0;
}
