using System.Text;
using System.Text.Json;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Bson.Serialization;
using MongoDB.Bson.Serialization.Serializers;
using MongoDB.Driver;
using Nv.DbWriter;
using Nv.DbWriter.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;
using static Nv.Unit.Tests.Mongo.Fakes.FakeMongoWriter;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Issue 19 item 4: what MongoDB cannot store is refused before the WAL append (400/413), and a record that
/// reaches the writer anyway is rejected (Unstorable) at apply time, never retried, never stopping the batch.</summary>
public sealed class MongoUnstorableTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string ThirtyFiveDigits = "12345678901234567890123456789012345";

    private static string Nested(int depth)
    {
        // depth 1 is the object itself: {"a":{"a":...{}}}
        var text = new StringBuilder();
        for (var i = 1; i < depth; i++)
        {
            text.Append("{\"a\":");
        }

        text.Append("{}");
        text.Append('}', depth - 1);
        return text.ToString();
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 512 }).RootElement.Clone();

    [Fact]
    public void The_writer_refuses_what_mongodb_cannot_store_before_anything_is_sent()
    {
        // The server is never contacted: CheckStorable is pure.
        var writer = new MongoDbWriter(new DbWriterOptions { MongoUri = "mongodb://127.0.0.1:1/" });

        Assert.Null(writer.CheckStorable("Order", Json("""{"n":1e5,"x":[1,{"y":null}]}""")));
        Assert.Null(writer.CheckStorable("Order", Json(Nested(MongoLimits.MaxPayloadDepth))));

        var number = writer.CheckStorable("Order", Json($$"""{"n":{{ThirtyFiveDigits}}}"""));
        Assert.NotNull(number);
        Assert.False(number.IsTooLarge);
        Assert.Contains("34 significant digits", number.Reason, StringComparison.Ordinal);

        var deep = writer.CheckStorable("Order", Json(Nested(MongoLimits.MaxPayloadDepth + 1)));
        Assert.NotNull(deep);
        Assert.False(deep.IsTooLarge);
        Assert.Contains("levels", deep.Reason, StringComparison.Ordinal);

        Assert.False(writer.CheckStorable("Order", Json("""{"$set":{"admin":true}}"""))!.IsTooLarge);
        Assert.False(writer.CheckStorable("Order", Json("""{"profile":{"a.b":1}}"""))!.IsTooLarge);
        Assert.False(writer.CheckStorable("audit_entries", Json("{}"))!.IsTooLarge);
    }

    [Fact]
    public void A_document_over_16_MiB_of_bson_is_refused_as_too_large_although_its_json_is_smaller()
    {
        // An array of small numbers: 2 bytes of JSON each ("1,"), about 9 of BSON (type, index name, int32).
        var json = "{\"a\":[" + string.Join(",", Enumerable.Repeat("1", 1_500_000)) + "]}";
        Assert.True(Encoding.UTF8.GetByteCount(json) < MongoLimits.MaxAuditWeight);
        var writer = new MongoDbWriter(new DbWriterOptions { MongoUri = "mongodb://127.0.0.1:1/" });

        var refusal = writer.CheckStorable("Order", Json(json));

        Assert.NotNull(refusal);
        Assert.True(refusal.IsTooLarge);
        Assert.Contains("bytes as a MongoDB document", refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_whose_audit_entry_could_exceed_16_MiB_is_refused_as_too_large()
    {
        // 30 levels of 200-character keys, then 600 small members: ~70 KB of JSON, but every member's path (6 KB)
        // would be repeated in the field changes of an update: ~3.6 MB per side.
        var key = new string('k', 200);
        var inner = "{" + string.Join(",", Enumerable.Range(0, 700).Select(i => $"\"m{i}\":1")) + "}";
        var json = inner;
        for (var i = 0; i < 30; i++)
        {
            json = $"{{\"{key}\":{json}}}";
        }

        var payload = Json(json);
        Assert.True(payload.GetRawText().Length < 100_000);
        var writer = new MongoDbWriter(new DbWriterOptions { MongoUri = "mongodb://127.0.0.1:1/" });

        var refusal = writer.CheckStorable("Order", payload);

        Assert.NotNull(refusal);
        Assert.True(refusal.IsTooLarge);
        Assert.Contains("audit entry", refusal.Reason, StringComparison.Ordinal);
    }

    /// <summary>The size the limit is checked with is exactly what the driver serializes, and a payload at the depth limit
    /// serializes through the driver's writer (max depth 100) even nested as an update statement in a command.</summary>
    [Fact]
    public void The_limits_match_the_driver_serializer()
    {
        foreach (var json in new[] { """{"a":1,"b":"zoë","c":[1,2.5,{"d":null}],"e":true,"f":12345678901234567890,"g":1e400}""", Nested(MongoLimits.MaxPayloadDepth) })
        {
            var document = MongoJson.ToBson(Json(json));
            Assert.Equal(document.ToBson().Length, MongoLimits.Size(document));
            var record = MongoCommandsTests.Record(7, Nv.Wal.WalOperation.Create) with { Payload = Json(json) };
            var entity = new BsonDocument
            {
                { "_id", record.EntityId },
                { "doc", document },
                { "_nv", new BsonDocument { { "lsn", 7L }, { "replayKey", record.ReplayKey }, { "walId", MongoCommands.FormatId(record.Id) }, { "deleted", false } } },
            };
            Assert.Equal(entity.ToBson().Length, MongoLimits.EntityDocumentSize(document, record.EntityId, record.ReplayKey));

            // The update as sent: a statement of an update command, inside the command document and its array.
            var update = MongoCommands.EntityWrite(record, document, expectedWalId: null).Update
                .Render(new RenderArgs<BsonDocument>(BsonDocumentSerializer.Instance, BsonSerializer.SerializerRegistry)).AsBsonDocument;
            var command = new BsonDocument
            {
                { "update", "Order" },
                { "updates", new BsonArray { new BsonDocument { { "q", new BsonDocument("_id", "o1") }, { "u", update }, { "upsert", true } } } },
            };
            using var stream = new MemoryStream();
            using var writer = new BsonBinaryWriter(stream, BsonBinaryWriterSettings.Defaults);
            BsonSerializer.Serialize(writer, command);
        }
    }

    [Fact]
    public async Task An_unstorable_record_is_rejected_at_apply_time_and_the_batch_goes_on()
    {
        await using var mongo = new FakeMongoWriter();
        var batch = new[]
        {
            Create(1, "a", """{"n":1}"""),
            Create(2, "b", $$"""{"n":{{ThirtyFiveDigits}}}"""),
            Update(3, "b", """{"n":2}"""),
            Create(4, "c") with { Payload = Json(Nested(MongoLimits.MaxPayloadDepth + 5)) },
            Create(5, "d", """{"$inc":{"n":1}}"""),
            Create(6, "e", """{"n":1.50}"""),
        };

        var results = await mongo.Writer.ApplyAsync(batch, Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Applied],
            results.Select(r => r.Status));
        Assert.Equal([RejectReason.None, RejectReason.Unstorable, RejectReason.NotFound, RejectReason.Unstorable, RejectReason.Unstorable, RejectReason.None],
            results.Select(r => r.RejectReason));
        Assert.Contains("34 significant digits", results[1].Error, StringComparison.Ordinal);
        Assert.Null(await mongo.Writer.GetAsync("Order", "b", Ct));
        Assert.Equal("""{"n":1.5}""", (await mongo.Writer.GetAsync("Order", "e", Ct))!.Document.GetRawText());
        Assert.Equal(new Nv.Wal.Lsn(6), await mongo.Writer.GetResolvedThroughAsync(Ct));

        // Replay: the same outcomes, from the stored resolutions, the detail included.
        var again = await mongo.Writer.ApplyAsync(batch, Ct);
        Assert.Equal([ApplyStatus.AlreadyApplied, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.AlreadyApplied],
            again.Select(r => r.Status));
        Assert.Equal(results[1].Error, again[1].Error);
        Assert.Equal(RejectReason.Unstorable, (await mongo.Writer.FindByRequestIdAsync("req-2", Ct))!.RejectReason);
    }

    /// <summary>A write the server refuses for the document itself (here a collection validator, code 121) rejects that
    /// record; the records after it are decided again against what is really stored.</summary>
    [Fact]
    public async Task A_document_the_server_refuses_is_rejected_and_the_records_after_it_are_decided_again()
    {
        await using var mongo = new FakeMongoWriter();
        mongo.Server.RefuseDocument = (collection, document) =>
            collection == "Order" && document["_id"] == "v" ? (121, "Document failed validation") : null;

        var results = await mongo.Writer.ApplyAsync([Create(1, "v", """{"n":1}"""), Update(2, "v", """{"n":2}"""), Create(3, "w")], Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.Equal([RejectReason.Unstorable, RejectReason.NotFound, RejectReason.None], results.Select(r => r.RejectReason));
        Assert.Contains("Document failed validation", results[0].Error, StringComparison.Ordinal);
        Assert.Null(await mongo.Writer.GetAsync("Order", "v", Ct));
        Assert.NotNull(await mongo.Writer.GetAsync("Order", "w", Ct));
        Assert.Equal(new Nv.Wal.Lsn(3), await mongo.Writer.GetResolvedThroughAsync(Ct));
    }

    [Fact]
    public async Task A_record_of_a_reserved_or_invalid_dto_type_is_rejected_without_touching_that_collection()
    {
        await using var mongo = new FakeMongoWriter();
        var results = await mongo.Writer.ApplyAsync(
        [
            Create(1, "x") with { DtoType = "audit_entries" },
            Create(2, "y") with { DtoType = "system.users" },
            Delete(3, "z") with { DtoType = "$cmd" },
            Create(4, "ok"),
        ], Ct);

        Assert.Equal([ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Rejected, ApplyStatus.Applied], results.Select(r => r.Status));
        Assert.All(results.Take(3), r => Assert.Equal(RejectReason.Unstorable, r.RejectReason));
        Assert.DoesNotContain(mongo.Server.Operations, o => o.Collection is "audit_entries" or "system.users" or "$cmd");
    }
}
