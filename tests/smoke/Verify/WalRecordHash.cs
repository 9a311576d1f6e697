using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The WAL record hash an audit entry commits to, computed from docs/audit-hash-chain.md ("WAL record hash"):
/// <c>lowercase_hex(SHA-256("NVWR" 0x01 field*15))</c>, each field absent (0x00) or 0x01 + big-endian u32 length + UTF-8.</summary>
internal static class WalRecordHash
{
    /// <param name="fields">id, lsn, service, version, timestamp, operation, dtoType, entityId, payload (canonical JSON),
    /// replayKey, requestId, userId, reason, metadata (canonical JSON object), expectedLsn; null = absent.</param>
    public static string Compute(IReadOnlyList<string?> fields)
    {
        if (fields.Count != 15)
        {
            throw new ArgumentException("a WAL record has 15 hashed fields", nameof(fields));
        }

        using var bytes = new MemoryStream();
        bytes.Write("NVWR"u8);
        bytes.WriteByte(1);
        Span<byte> length = stackalloc byte[4];
        foreach (var field in fields)
        {
            if (field is null)
            {
                bytes.WriteByte(0);
                continue;
            }

            var utf8 = Encoding.UTF8.GetBytes(field);
            bytes.WriteByte(1);
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)utf8.Length);
            bytes.Write(length);
            bytes.Write(utf8);
        }

        return Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()));
    }
}
