using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>A request id in the scope of its caller: two callers may use the same request id independently.</summary>
/// <param name="Scope">The caller: the API key's name, or the user id when authentication is off; empty when unknown.</param>
/// <param name="RequestId">The caller's request id (idempotency key).</param>
public readonly record struct RequestKey(string Scope, string RequestId)
{
    /// <summary>The key of the request that carried <paramref name="record"/> (its user id is the caller).</summary>
    public static RequestKey Of(WalRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new RequestKey(record.UserId ?? string.Empty, record.RequestId);
    }
}
