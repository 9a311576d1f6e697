using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Nv.Audit.Chain;
using Nv.Wal;

namespace Nv.Audit;

/// <summary>The canonical hash of a WAL record that an audit entry commits to (<see cref="AuditEntry.WalRecordHash"/>).</summary>
/// <remarks>
/// A pure function of the <see cref="WalRecord"/> fields, independent of the WAL's on-disk framing (which may change):
/// <c>lowercase_hex(SHA-256(canonical(record)))</c>, where <c>canonical</c> is <c>"NVWR"</c>, the version byte
/// <c>0x01</c>, then 15 fields encoded exactly like audit entry fields (absent = <c>0x00</c>; present = <c>0x01</c>,
/// 4-byte big-endian length, UTF-8): id, lsn, service, version, timestamp, operation, dtoType, entityId, payload
/// (canonical JSON; absent when the record has none), replayKey, requestId, userId, reason, metadata (canonical JSON
/// object of strings), expectedLsn. Specified in docs/audit-hash-chain.md.
/// A record whose payload is sealed (encryption at rest, <see cref="WalRecord.PayloadKeyId"/> set) is hashed with version
/// <c>0x02</c>: the same 15 fields with the payload absent, then keyId (GUID text), subject and the sealed payload
/// (standard base64 of <see cref="WalRecord.SealedPayload"/>); a sealed audit event then adds its plain category and
/// operation (<see cref="WalRecord.EventCategory"/>, <see cref="WalRecord.EventOperation"/>). It commits to the
/// ciphertext, so it is the same before and after the key is destroyed, and reveals nothing about the plaintext.
/// </remarks>
public static class WalRecordHasher
{
    /// <summary>The version byte of the canonical WAL record encoding of a record stored in plain.</summary>
    public const byte Version = 1;

    /// <summary>The version byte of the canonical encoding of a record whose payload is sealed.</summary>
    public const byte SealedVersion = 2;

    private const int MaxKeptBuffer = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    private static ReadOnlySpan<byte> Magic => "NVWR"u8;

    /// <summary>The canonical bytes of <paramref name="record"/>.</summary>
    public static byte[] Encode(WalRecord record)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(record, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Lower-case hex SHA-256 of <see cref="Encode"/>.</summary>
    public static string Compute(WalRecord record)
    {
        // One buffer per thread, reused: Write does not re-enter Compute.
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        Write(record, buffer);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, digest);
        if (buffer.Capacity > MaxKeptBuffer)
        {
            _buffer = null; // a rare large payload: do not keep its buffer alive on this thread
        }

        return Convert.ToHexStringLower(digest);
    }

    private static void Write(WalRecord record, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(record);
        var sealedPayload = record.PayloadKeyId is not null;
        if (sealedPayload && record.SealedPayload.IsEmpty)
        {
            throw new ArgumentException("A record whose payload is sealed is hashed over its sealed bytes, which it lacks (it was not appended).", nameof(record));
        }

        output.Write(Magic);
        output.Write<byte>([sealedPayload ? SealedVersion : Version]);
        AuditCanonicalEncoding.WriteId(output, record.Id);
        AuditCanonicalEncoding.WriteNumber(output, record.Lsn.Value);
        AuditCanonicalEncoding.WriteText(output, record.Service);
        AuditCanonicalEncoding.WriteNumber(output, record.Version);
        AuditCanonicalEncoding.WriteTimestamp(output, record.Timestamp);
        AuditCanonicalEncoding.WriteText(output, AuditEntryFactory.OperationName(record.Operation));
        AuditCanonicalEncoding.WriteText(output, record.DtoType);
        AuditCanonicalEncoding.WriteText(output, record.EntityId);
        AuditCanonicalEncoding.WriteJson(output, sealedPayload || record.Payload.ValueKind == JsonValueKind.Undefined ? null : record.Payload);
        AuditCanonicalEncoding.WriteText(output, record.ReplayKey);
        AuditCanonicalEncoding.WriteText(output, record.RequestId);
        AuditCanonicalEncoding.WriteText(output, record.UserId);
        AuditCanonicalEncoding.WriteText(output, record.Reason);
        AuditCanonicalEncoding.WriteStringMap(output, record.Metadata);
        AuditCanonicalEncoding.WriteNumber(output, record.ExpectedLsn?.Value);
        if (sealedPayload)
        {
            AuditCanonicalEncoding.WriteText(output, record.PayloadKeyId!.Value.ToString("D"));
            AuditCanonicalEncoding.WriteText(output, record.Subject);
            AuditCanonicalEncoding.WriteBase64(output, record.SealedPayload.Span);
            if (record.EventCategory is not null || record.EventOperation is not null)
            {
                AuditCanonicalEncoding.WriteText(output, record.EventCategory);
                AuditCanonicalEncoding.WriteText(output, record.EventOperation);
            }
        }
    }
}
