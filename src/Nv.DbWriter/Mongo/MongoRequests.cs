using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

/// <summary>The idempotency collection <c>_nv_requests</c> of the MongoDB writer, as pure functions (unit-tested as BSON).</summary>
/// <remarks>
/// Shape: <c>{ _id: { s: scope, r: requestId }, lsn, fingerprint: BinData | null, op, dtoType, entityId, status,
/// rejectReason, createdAt: Date, failedItem?, recordId? }</c>: a rejected batch's failed item and an audit event's record
/// id (UUID), absent otherwise and in outcomes stored before this build kept them (then known only from the record's
/// resolution, while it is stored: additive, no migration). The compound <c>_id</c> makes (caller, request id) unique, and each write is an
/// upsert with <c>$setOnInsert</c>, so the request's first record keeps its outcome. A TTL index on <c>createdAt</c>
/// (<c>expireAfterSeconds</c> = the idempotency retention) lets the server delete expired outcomes by itself; the
/// pipeline's maintenance deletes them too, on the same index, so expiry does not wait for the server's TTL pass.
/// Outcomes migrated from resolutions stored before request ids were scoped have <c>s: null</c> (any caller).
/// </remarks>
internal static class MongoRequests
{
    public const string Collection = "_nv_requests";
    public const string CreatedAt = "createdAt";
    public const string TtlIndexName = "createdAt_ttl";
    public const string MigratedId = "requests_migrated";
    public const string FailedItem = "failedItem";
    public const string RecordId = "recordId";

    /// <summary>The <c>_id</c> of a request's outcome (field order matters for equality: scope, then request id).</summary>
    public static BsonDocument Id(string? scope, string requestId) => new()
    {
        { "s", scope is null ? BsonNull.Value : (BsonValue)scope },
        { "r", requestId },
    };

    /// <summary>The upsert that records <paramref name="record"/>'s outcome unless its request already has one.</summary>
    /// <param name="record">The request's record; an audit event's id is kept as its record id.</param>
    /// <param name="status">Its outcome.</param>
    /// <param name="reason">Why it was rejected, if it was.</param>
    /// <param name="failedItem">A rejected batch's first rejected item.</param>
    public static UpdateOneModel<BsonDocument> Record(WalRecord record, ApplyStatus status, RejectReason reason, int? failedItem = null)
    {
        var key = RequestKey.Of(record);
        var fields = new BsonDocument
        {
            { "lsn", record.Lsn.Value },
            { "fingerprint", record.Fingerprint is null ? BsonNull.Value : new BsonBinaryData(Convert.FromHexString(record.Fingerprint)) },
            { "op", (int)record.Operation },
            { "dtoType", record.DtoType },
            { "entityId", record.EntityId },
            { "status", (int)status },
            { "rejectReason", (int)reason },
            { CreatedAt, new BsonDateTime(record.Timestamp.UtcDateTime) },
        };
        if (RequestOutcomeFields.FailedItemOf(status, failedItem) is { } item)
        {
            fields.Add(FailedItem, item);
        }

        if (RequestOutcomeFields.RecordIdOf(record) is { } recordId)
        {
            fields.Add(RecordId, new BsonBinaryData(recordId, GuidRepresentation.Standard));
        }

        return new UpdateOneModel<BsonDocument>(new BsonDocument("_id", Id(key.Scope, key.RequestId)), new BsonDocument("$setOnInsert", fields))
        {
            IsUpsert = true,
        };
    }

    /// <summary>The outcomes of <paramref name="keys"/>, scoped or migrated (unscoped).</summary>
    public static BsonDocument Lookup(IEnumerable<RequestKey> keys)
    {
        var ids = new BsonArray();
        foreach (var key in keys)
        {
            ids.Add(Id(key.Scope, key.RequestId));
            ids.Add(Id(null, key.RequestId));
        }

        return new BsonDocument("_id", new BsonDocument("$in", ids));
    }

    /// <summary>The TTL index: the server deletes an outcome once it is <paramref name="retention"/> old.</summary>
    public static CreateIndexModel<BsonDocument> TtlIndex(TimeSpan retention) => new(
        new BsonDocument(CreatedAt, 1),
        new CreateIndexOptions { Name = TtlIndexName, ExpireAfter = retention });

    /// <summary>Changes the TTL of the existing index when the retention was reconfigured (createIndexes refuses new options).</summary>
    public static BsonDocument CollMod(TimeSpan retention) => new()
    {
        { "collMod", Collection },
        { "index", new BsonDocument { { "name", TtlIndexName }, { "expireAfterSeconds", (long)retention.TotalSeconds } } },
    };

    public static BsonDocument CreatedBefore(DateTimeOffset createdBefore) =>
        new(CreatedAt, new BsonDocument("$lt", new BsonDateTime(createdBefore.UtcDateTime)));

    /// <summary>One-time copy of the final resolutions (stored before request ids were scoped) as unscoped outcomes;
    /// the lowest LSN of a request wins, and an outcome already recorded is kept.</summary>
    public static BsonDocument[] LegacyMigration(DateTimeOffset now) =>
    [
        new("$match", new BsonDocument
        {
            { MongoCommands.Pending, new BsonDocument("$exists", false) },
            { MongoCommands.Unrecorded, new BsonDocument("$exists", false) },
        }),
        new("$sort", new BsonDocument("_id", -1)),
        new("$group", new BsonDocument
        {
            { "_id", new BsonDocument { { "s", new BsonDocument("$literal", BsonNull.Value) }, { "r", "$requestId" } } },
            { "lsn", new BsonDocument("$last", "$_id") },
            { "status", new BsonDocument("$last", "$status") },
            { "rejectReason", new BsonDocument("$last", "$rejectReason") },
        }),
        new("$addFields", new BsonDocument
        {
            { "fingerprint", new BsonDocument("$literal", BsonNull.Value) },
            { CreatedAt, new BsonDateTime(now.UtcDateTime) },
        }),
        new("$merge", new BsonDocument
        {
            { "into", Collection },
            { "on", "_id" },
            { "whenMatched", "keepExisting" },
            { "whenNotMatched", "insert" },
        }),
    ];

    /// <summary>Reads one outcome, refusing values no writer of this collection produces.</summary>
    /// <exception cref="DbWriterException">The document is damaged (class <see cref="DbErrorClass.Corruption"/>).</exception>
    public static RequestOutcome Read(BsonDocument document)
    {
        try
        {
            var id = document["_id"].AsBsonDocument;
            var fingerprint = document.GetValue("fingerprint", BsonNull.Value);
            var status = (ApplyStatus)document["status"].ToInt32();
            var reason = (RejectReason)document["rejectReason"].ToInt32();
            var op = document.GetValue("op", BsonNull.Value);
            if (status is not (ApplyStatus.Applied or ApplyStatus.AlreadyApplied or ApplyStatus.Rejected) || !Enum.IsDefined(reason)
                || (fingerprint is BsonBinaryData { Bytes.Length: not 32 }) || (fingerprint is not (BsonBinaryData or BsonNull)))
            {
                throw new FormatException("unexpected status, reject reason or fingerprint");
            }

            WalOperation? operation = op.IsBsonNull ? null : (WalOperation)op.ToInt32();
            int? failedItem = document.GetValue(FailedItem, BsonNull.Value) is { IsBsonNull: false } item ? item.AsInt32 : null;
            if (RequestOutcomeFields.FailedItemProblem(operation, status, failedItem) is { } problem)
            {
                throw new FormatException(problem);
            }

            Guid? recordId = document.GetValue(RecordId, BsonNull.Value) switch
            {
                BsonNull => null,
                BsonBinaryData { SubType: BsonBinarySubType.UuidStandard } uuid when RequestOutcomeFields.MayHoldRecordId(operation)
                    => uuid.ToGuid(GuidRepresentation.Standard),
                var other => throw new FormatException($"record id {other} (only an audit event has one, a standard UUID)"),
            };

            return new RequestOutcome
            {
                Scope = id["s"].IsBsonNull ? null : id["s"].AsString,
                RequestId = id["r"].AsString,
                Lsn = new Lsn(document["lsn"].ToInt64()),
                Status = status,
                RejectReason = reason,
                Fingerprint = fingerprint is BsonBinaryData binary ? Convert.ToHexStringLower(binary.Bytes) : null,
                Operation = op.IsBsonNull ? null : (WalOperation)op.ToInt32(),
                DtoType = document.GetValue("dtoType", BsonNull.Value) is BsonString dtoType ? dtoType.Value : null,
                EntityId = document.GetValue("entityId", BsonNull.Value) is BsonString entityId ? entityId.Value : null,
                CreatedAt = new DateTimeOffset(document[CreatedAt].ToUniversalTime(), TimeSpan.Zero),
                FailedItem = failedItem,
                RecordId = recordId,
            };
        }
        catch (Exception ex) when (ex is InvalidCastException or KeyNotFoundException or FormatException or ArgumentOutOfRangeException)
        {
            throw new DbWriterException($"A request outcome in {Collection} is damaged ({ex.Message}): {document.ToJson()}", DbErrorClass.Corruption,
                innerException: ex);
        }
    }
}
