using System.Text.Json;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>A fixed single-entity record and its format-1 body as the code before batches (commit 8fcbf62's Nv.Wal.dll)
/// encoded it, with the body's CRC-32C.</summary>
internal static class WalRecordCodecTestsData
{
    public const string SingleBodyHex =
        "a2f493011c7b3e7d8f40123456789abc060000006f7264657273020000002057eb45da5add083c0002050000004f72646572030000006f2d3117000000746573743a" +
        "6f72646572733a323a4f726465723a6f2d31060000007265712d343205000000616c69636508000000636865636b6f75741e0000007b22737461747573223a22706169" +
        "64222c22746f74616c223a31302e357d01000000060000007469636b657403000000542d31012900000000000000";

    public const uint SingleBodyCrc = 1460238852;

    public static WalRecord Single() => new()
    {
        Id = Guid.Parse("0193f4a2-7b1c-7d3e-8f40-123456789abc"),
        Service = "orders",
        Version = 2,
        Timestamp = new DateTimeOffset(2025, 3, 4, 5, 6, 7, 890, TimeSpan.FromHours(1)),
        Operation = WalOperation.Update,
        DtoType = "Order",
        EntityId = "o-1",
        Payload = JsonDocument.Parse("""{"status":"paid","total":10.5}""").RootElement.Clone(),
        ReplayKey = "test:orders:2:Order:o-1",
        RequestId = "req-42",
        UserId = "alice",
        Reason = "checkout",
        Metadata = new Dictionary<string, string> { ["ticket"] = "T-1" },
        ExpectedLsn = new Lsn(41),
    };
}
