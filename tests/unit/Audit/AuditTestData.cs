using System.Text.Json;
using Nv.Audit;
using Nv.Wal;

namespace Nv.Unit.Tests.Audit;

internal static class AuditTestData
{
    public static JsonElement Json(string text) => JsonSerializer.Deserialize<JsonElement>(text);

    public static AuditEntry FixedEntry() => new()
    {
        Id = Guid.Parse("01890a5d-ac96-774b-bcce-b302099a8057"),
        Timestamp = new DateTimeOffset(2025, 3, 14, 15, 9, 26, 535, TimeSpan.Zero).AddTicks(8979),
        Service = "orders",
        Category = AuditCategory.EntityMutation,
        Operation = "update",
        UserId = "user-42",
        DtoType = "Order",
        EntityId = "o-17",
        Before = Json("""{"status":"new","total":10.50,"lines":[1,2]}"""),
        After = Json("""{"total":12.00,"status":"paid","lines":[1,2],"note":"caf\u00e9 \"x\""}"""),
        Changes =
        [
            new FieldChange("/note", null, Json("\"caf\u00e9 \\\"x\\\"\"")),
            new FieldChange("/status", Json("\"new\""), Json("\"paid\"")),
            new FieldChange("/total", Json("10.50"), Json("12.00")),
        ],
        Reason = "payment received",
        Metadata = new Dictionary<string, string> { ["z"] = "last", ["a"] = "first" },
        RequestId = "req-1",
        Lsn = new Lsn(1234),
        Sequence = 7,
        PrevHash = new string('a', 64),
        EncodingVersion = 1,
    };

    /// <summary>The same entry in encoding version 2, with a WAL record hash.</summary>
    public static AuditEntry FixedEntryV2() => FixedEntry() with
    {
        EncodingVersion = 2,
        WalRecordHash = "5f1c0e3c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c",
    };

    public static WalRecord Record(WalOperation operation = WalOperation.Update, string payload = """{"status":"paid"}""") => new()
    {
        Id = Guid.CreateVersion7(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero)),
        Lsn = new Lsn(99),
        Service = "orders",
        Version = 1,
        Timestamp = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero),
        Operation = operation,
        DtoType = "Order",
        EntityId = "o-17",
        Payload = Json(payload),
        ReplayKey = "dev:orders:1:Order:o-17",
        RequestId = "req-9",
        UserId = "alice",
        Reason = "because",
        Metadata = new Dictionary<string, string> { ["ip"] = "10.0.0.1" },
    };
}
