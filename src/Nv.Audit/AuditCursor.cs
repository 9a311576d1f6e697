using System.Buffers.Text;
using System.Text;

namespace Nv.Audit;

/// <summary>The opaque keyset cursor of audit queries: the (timestamp, id) of the last entry on a page.</summary>
/// <remarks>Encoded as base64url of <c>v1|timestamp|id</c>; callers must treat it as opaque. Keyset (not offset)
/// paging stays exact while entries are appended, and costs one index seek per page.</remarks>
internal readonly record struct AuditCursor(string Timestamp, string Id)
{
    private const string Prefix = "v1|";

    /// <summary>Encodes the cursor.</summary>
    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + Timestamp + "|" + Id));

    /// <summary>Decodes a cursor made by <see cref="Encode"/>.</summary>
    /// <exception cref="ArgumentException">The text is not a cursor of this version.</exception>
    public static AuditCursor Decode(string cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException ex)
        {
            throw new ArgumentException("The audit query cursor is not valid.", nameof(cursor), ex);
        }

        var parts = text.Split('|');
        if (parts.Length != 3 || parts[0] != "v1" || parts[1].Length == 0 || !Guid.TryParseExact(parts[2], "D", out _))
        {
            throw new ArgumentException("The audit query cursor is not valid.", nameof(cursor));
        }

        return new AuditCursor(parts[1], parts[2]);
    }
}
