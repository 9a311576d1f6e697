using System.Security.Cryptography;
using System.Text;

namespace Nv.Smoke.WalChild;

/// <summary>The deterministic record content for a request id (the smoke tests recompute it to check every record).</summary>
/// <remarks>Kept identical to <c>Nv.Smoke.Tests.Wal.WalChildRecords.PayloadJson</c>.</remarks>
internal static class ChildPayload
{
    public static string Json(string requestId, int fillChars)
    {
        var hex = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)));
        var fill = new StringBuilder(fillChars);
        while (fill.Length < fillChars)
        {
            fill.Append(hex, 0, Math.Min(hex.Length, fillChars - fill.Length));
        }

        return $$"""{"rid":"{{requestId}}","fill":"{{fill}}"}""";
    }
}
