using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The fingerprint stored with a request id's outcome: what the request asked for, so the same id on a
/// different request is recognised (and refused) instead of being answered with another request's outcome.</summary>
/// <remarks>
/// <c>SHA-256("nv-request-fingerprint-1\n" + method + "\n" + dtoType + "\n" + entityId + "\n" + hex(SHA-256(body)))</c>,
/// 64 lowercase hex digits. The method is <c>create</c>, <c>update</c>, <c>patch</c> or <c>delete</c> (POST, PUT, PATCH,
/// DELETE); the body is the JSON object exactly as the caller sent it (for a PATCH the merge patch, not the merged
/// state, so a retry after other writes still matches), empty for a delete. Headers (reason, metadata, If-Match) are
/// not part of it, as in Stripe's API, which compares a retry's parameters only.
/// </remarks>
internal static class RequestFingerprint
{
    private static readonly byte[] Prefix = "nv-request-fingerprint-1\n"u8.ToArray();

    /// <summary>The fingerprint of a request.</summary>
    public static string Compute(string method, string dtoType, string entityId, ReadOnlySpan<byte> body)
    {
        Span<byte> bodyHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, bodyHash);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Prefix);
        hash.AppendData(Encoding.UTF8.GetBytes(method + "\n" + dtoType + "\n" + entityId + "\n" + Convert.ToHexStringLower(bodyHash)));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The fingerprint of an in-process request (its operation is the method, its payload the body), unless it
    /// carries one (the HTTP layer sets it for PATCH).</summary>
    public static string Of(WriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Fingerprint is { } given)
        {
            return given;
        }

        var body = request.Operation is not (WalOperation.Delete or WalOperation.Erase) && request.Payload is { ValueKind: JsonValueKind.Object } payload
            ? System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(payload)
            : [];
        return Compute(MethodOf(request.Operation), request.DtoType, request.EntityId, body);
    }

    public static string MethodOf(WalOperation operation) => operation switch
    {
        WalOperation.Create => "create",
        WalOperation.Update => "update",
        WalOperation.Delete => "delete",
        WalOperation.Batch => "batch",
        WalOperation.AuditEvent => "audit-event",
        WalOperation.Erase => "erase",
        _ => "unknown",
    };
}
