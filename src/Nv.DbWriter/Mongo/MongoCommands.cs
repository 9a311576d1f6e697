using System.Globalization;
using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

/// <summary>Every filter, update and write concern the MongoDB writer sends, as pure functions (unit-tested as BSON).</summary>
/// <remarks>
/// Stored shapes. Entity (collection named after the dtoType):
/// <c>{ _id: entityId, doc: {payload} | null, _nv: { lsn, replayKey, walId, deleted } }</c>; the payload sits under
/// <c>doc</c>, so its keys can never reach <c>_id</c>, <c>_nv</c> or an update operator. A tombstone has <c>doc: null</c>,
/// <c>deleted: true</c> and keeps the LSN. Resolution (<c>_nv_resolutions</c>):
/// <c>{ _id: lsn, walId, requestId, status, rejectReason, before, pending?, unrecorded?, expectedWalId?, expectedLsn?, error? }</c>:
/// a pending (Applied, entity write not yet known durable) or unrecorded (final at once, its request's outcome not yet
/// stored) resolution is invisible to readers and to the watermark until both flags are cleared; a pending one keeps the version its decision read
/// (<c>expectedWalId</c>/<c>expectedLsn</c>, absent when the slot was empty) so the redo is held to it; a rejection for
/// <see cref="RejectReason.Unstorable"/> keeps its <c>error</c> text. Watermark (<c>_nv_meta</c>):
/// <c>{ _id: "resolved_through", value }</c>; schema version <c>{ _id: "schema_version", value }</c>.
/// Schema versions: 1 (the first); 2 adds the optional resolution fields above and reject reason 4 (Unstorable); 3 adds
/// <c>unrecorded</c> (a build that does not know it would take such a resolution for a final one). An older database is
/// upgraded in place at open (nothing to rewrite: every new field is optional), and a newer one refused.
/// </remarks>
internal static class MongoCommands
{
    public const string ResolutionsCollection = "_nv_resolutions";
    public const string MetaCollection = "_nv_meta";
    public const string ResolvedThroughId = "resolved_through";
    public const string SchemaVersionId = "schema_version";
    public const int SchemaVersion = 3;

    /// <summary>Schema versions this build opens and upgrades to <see cref="SchemaVersion"/>.</summary>
    public const int OldestReadableSchemaVersion = 1;

    public const string Doc = "doc";
    public const string Nv = "_nv";
    public const string NvLsn = "_nv.lsn";
    public const string NvWalId = "_nv.walId";
    public const string NvDeleted = "_nv.deleted";
    public const string Pending = "pending";
    public const string Unrecorded = "unrecorded";
    public const string ExpectedWalId = "expectedWalId";
    public const string ExpectedLsn = "expectedLsn";
    public const string Error = "error";

    /// <summary>The configured write concern value that lets Nv choose from the topology.</summary>
    public const string AutoWriteConcern = "auto";

    /// <summary>Durable before results are returned: always journaled; with <c>auto</c>, acknowledged by a majority on a
    /// replica set or a sharded cluster (a <c>mongos</c>), where a write a minority holds can roll back on failover, and
    /// by the one server otherwise. <paramref name="timeout"/> is the <c>wtimeout</c>: a replication wait that cannot
    /// complete fails (code 64, transient) instead of blocking the writer forever.</summary>
    /// <param name="topology">What the server said it is.</param>
    /// <param name="configured"><c>auto</c> (or null), <c>majority</c>, a number of members, or a replica-set tag name.</param>
    /// <param name="timeout">The wtimeout.</param>
    public static WriteConcern WriteConcernFor(MongoTopology topology, string? configured, TimeSpan timeout)
    {
        WriteConcern.WValue w = string.IsNullOrWhiteSpace(configured) || configured == AutoWriteConcern
            ? (topology == MongoTopology.Standalone ? 1 : WriteConcern.WMajority.W)
            : WriteConcern.WValue.Parse(configured);
        return new WriteConcern(w, wTimeout: timeout, journal: true);
    }

    /// <summary>Whether <paramref name="configured"/> is a write concern Nv accepts: <c>auto</c>, <c>majority</c>, a
    /// number of members from 1, or a tag name (never 0: unacknowledged writes are not durable).</summary>
    public static bool IsValidWriteConcern(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured) || configured is AutoWriteConcern or "majority")
        {
            return true;
        }

        if (int.TryParse(configured, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return count is >= 1 and <= 50;
        }

        // A replica-set tag name: starts with a letter (so it never reads as a number).
        return configured.Length <= 64 && char.IsAsciiLetter(configured[0]) && configured.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
    }

    /// <summary>Ordered bulk writes: an op runs only after every op before it succeeded, so an error has one index.</summary>
    public static BulkWriteOptions Ordered { get; } = new() { IsOrdered = true };

    /// <summary>The LSN guard of one entity write: the slot is written only if its stored LSN is lower than the record's
    /// (an older or equal LSN never overwrites). With <paramref name="expectedWalId"/>, the write is also pinned to the
    /// exact version the writer read, so the before image it returns is the one the write replaced.</summary>
    public static BsonDocument EntityFilter(WalRecord record, string? expectedWalId)
    {
        var filter = new BsonDocument
        {
            { "_id", record.EntityId },
            { NvLsn, new BsonDocument("$lt", record.Lsn.Value) },
        };
        if (expectedWalId is not null)
        {
            filter.Add(NvWalId, expectedWalId);
        }

        return filter;
    }

    /// <summary>The update of one entity write: the whole document (under <c>doc</c>) and the guard fields, or a tombstone.</summary>
    /// <param name="record">The record being applied.</param>
    /// <param name="document">The payload as BSON (from <see cref="MongoJson.ToBson"/>), or null for a delete (tombstone).</param>
    public static BsonDocument EntityUpdate(WalRecord record, BsonDocument? document) => new(
        "$set",
        new BsonDocument
        {
            { Doc, (BsonValue?)document ?? BsonNull.Value },
            { NvLsn, record.Lsn.Value },
            { "_nv.replayKey", record.ReplayKey },
            { NvWalId, FormatId(record.Id) },
            { NvDeleted, document is null },
        });

    /// <summary>One guarded upsert. Upsert inserts a missing slot; a stored slot that fails the guard makes the upsert try an
    /// insert with the same <c>_id</c>, which fails with E11000 (DuplicateKey): the writer then reads the slot and treats it
    /// as already applied only if the stored LSN is at or above the record's.</summary>
    public static UpdateOneModel<BsonDocument> EntityWrite(WalRecord record, BsonDocument? document, string? expectedWalId) =>
        new(EntityFilter(record, expectedWalId), EntityUpdate(record, document)) { IsUpsert = true };

    /// <summary>The slots of a batch in one collection.</summary>
    public static BsonDocument ByIds(IEnumerable<string> entityIds) =>
        new("_id", new BsonDocument("$in", new BsonArray(entityIds)));

    public static BsonDocument ById(string entityId) => new("_id", entityId);

    /// <summary>Tombstones that WAL truncation lets go.</summary>
    public static BsonDocument TombstonesUpTo(long lsn) => new()
    {
        { NvDeleted, true },
        { NvLsn, new BsonDocument("$lte", lsn) },
    };

    /// <summary>A resolution. <paramref name="pending"/> marks an Applied outcome whose entity write is not yet durable:
    /// it is invisible to readers and not counted by the watermark until cleared; it keeps the version its decision read
    /// (<paramref name="expectedWalId"/>, <paramref name="expectedLsn"/>; null when the slot was empty) so a redo writes
    /// only over that version. <paramref name="error"/> explains an Unstorable rejection.</summary>
    public static BsonDocument Resolution(WalRecord record, ApplyStatus status, RejectReason reason, BsonDocument? before, bool pending,
        string? expectedWalId = null, long? expectedLsn = null, string? error = null)
    {
        var document = new BsonDocument
        {
            { "_id", record.Lsn.Value },
            { "walId", FormatId(record.Id) },
            { "requestId", record.RequestId },
            { "status", (int)status },
            { "rejectReason", (int)reason },
            { "before", (BsonValue?)before ?? BsonNull.Value },
        };
        if (record.PayloadKeyId is { } keyId)
        {
            document.Add("keyId", FormatId(keyId)); // an erasure of the record's subject forgets the before image
        }

        if (pending)
        {
            document.Add(Pending, true);
            if (expectedWalId is not null)
            {
                document.Add(ExpectedWalId, expectedWalId);
                document.Add(ExpectedLsn, expectedLsn ?? 0);
            }
        }

        if (error is not null)
        {
            document.Add(Error, error);
        }

        return document;
    }

    /// <summary>The final rejection of a record the store cannot hold (replaces whatever resolution it had).</summary>
    public static BsonDocument Unstorable(WalRecord record, string error) =>
        Resolution(record, ApplyStatus.Rejected, RejectReason.Unstorable, before: null, pending: false, error: error);

    /// <summary>The redo of a pending outcome, held to the version its decision read: pinned to <paramref name="expectedWalId"/>
    /// (no upsert, so a slot that never reached that version is not created), or, when the decision found no slot, an
    /// LSN-guarded upsert as the first attempt was.</summary>
    public static UpdateOneModel<BsonDocument> EntityRedo(WalRecord record, BsonDocument? document, string? expectedWalId) =>
        new(EntityFilter(record, expectedWalId), EntityUpdate(record, document)) { IsUpsert = expectedWalId is null };

    /// <summary>Resolutions of the given LSNs, pending or not (the writer's own lookup).</summary>
    public static BsonDocument ResolutionsOf(IEnumerable<long> lsns) => new("_id", new BsonDocument("$in", new BsonArray(lsns)));

    /// <summary>Visible (final) resolutions with LSN in (after, upTo].</summary>
    public static BsonDocument ResolutionsBetween(long after, long upTo) => new()
    {
        { "_id", new BsonDocument { { "$gt", after }, { "$lte", upTo } } },
        { Pending, new BsonDocument("$exists", false) },
        { Unrecorded, new BsonDocument("$exists", false) },
    };

    /// <summary>The non-pending resolutions of any of <paramref name="requestIds"/>.</summary>
    public static BsonDocument ResolutionsOfRequests(IEnumerable<string> requestIds) => new()
    {
        { "requestId", new BsonDocument("$in", new BsonArray(requestIds)) },
        { Pending, new BsonDocument("$exists", false) },
        { Unrecorded, new BsonDocument("$exists", false) },
    };

    /// <summary>Marks a final resolution unrecorded: hidden until its request's outcome is stored (see the class remarks).</summary>
    public static BsonDocument AsUnrecorded(BsonDocument resolution)
    {
        resolution[Unrecorded] = true;
        return resolution;
    }

    /// <summary>The unrecorded resolutions (final outcomes not yet shown) after <paramref name="lsn"/>.</summary>
    public static BsonDocument UnrecordedAfter(long lsn) => new()
    {
        { "_id", new BsonDocument("$gt", lsn) },
        { Unrecorded, new BsonDocument("$exists", true) },
    };

    /// <summary>Pending resolutions (left by a batch that failed between its resolution insert and its entity writes).</summary>
    public static BsonDocument PendingResolutions { get; } = new(Pending, new BsonDocument("$exists", true));

    /// <summary>Makes resolutions visible once their entity writes are durable and their requests' outcomes stored.</summary>
    public static BsonDocument ClearPending { get; } = new("$unset", new BsonDocument { { Pending, "" }, { Unrecorded, "" } });

    /// <summary>One single-document update per resolution, sent as one ordered bulk write: unlike a multi-document
    /// updateMany, single-document writes are retryable writes, so the driver retries a network error exactly once.</summary>
    public static IEnumerable<UpdateOneModel<BsonDocument>> ClearPendingOf(IEnumerable<long> lsns) =>
        lsns.Select(lsn => new UpdateOneModel<BsonDocument>(new BsonDocument("_id", lsn), ClearPending));

    /// <summary>The watermark only moves forward, even if two updates race or a stale value is written.</summary>
    public static BsonDocument AdvanceResolvedThrough(long value) => new("$max", new BsonDocument("value", value));

    public static BsonDocument MetaId(string id) => new("_id", id);

    public static BsonDocument SortById { get; } = new("_id", 1);

    public static string FormatId(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);
}
