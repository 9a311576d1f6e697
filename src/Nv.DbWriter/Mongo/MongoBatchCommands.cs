using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

/// <summary>What the MongoDB writer sends for a batch record (<see cref="WalOperation.Batch"/>), as pure functions
/// (unit-tested as BSON, without a server).</summary>
/// <remarks>
/// A batch is applied in one multi-document transaction (snapshot reads; commit with the writer's write concern: its
/// <c>w</c>, <c>j:true</c> and <c>wtimeout</c>): its item writes (the same guarded upserts as single records, <see cref="MongoCommands.EntityWrite"/>)
/// and its resolution <c>{ _id: lsn, walId, requestId, status, rejectReason, before: null, failedItem, items }</c> commit
/// together or not at all. <c>items</c> holds each item's outcome as SQLite stores it (<see cref="BatchItemsJson"/>): the
/// before image (a document), <c>null</c> (it did not exist) or <c>false</c> (superseded). Transactions need a replica set
/// (or a sharded cluster); on a standalone server the writer refuses batches with <see cref="StandaloneRefusal"/>.
/// </remarks>
internal static class MongoBatchCommands
{
    /// <summary>The transaction of one batch: reads see one snapshot; the commit is acknowledged as every other write of
    /// the writer (<paramref name="writeConcern"/>: the configured or topology's <c>w</c>, journaled, with its
    /// <c>wtimeout</c>, so a commit that cannot replicate fails as transient instead of waiting for the socket).</summary>
    public static TransactionOptions Transaction(WriteConcern writeConcern) => new(
        readConcern: ReadConcern.Snapshot,
        readPreference: ReadPreference.Primary,
        writeConcern: writeConcern);

    /// <summary>The resolution of a batch record.</summary>
    /// <param name="record">The batch record.</param>
    /// <param name="decision">Its outcome.</param>
    /// <param name="befores">Each item's stored document before the batch (null: none), read in the transaction.</param>
    public static BsonDocument Resolution(WalRecord record, BatchDecision decision, IReadOnlyList<BsonDocument?> befores)
    {
        var document = MongoCommands.Resolution(record, decision.Status, decision.Reason, before: null, pending: false);
        document.Add("failedItem", decision.FailedItem is { } failed ? failed : BsonNull.Value);
        if (decision.Status == ApplyStatus.Rejected)
        {
            document.Add("items", BsonNull.Value);
            return document;
        }

        var items = new BsonArray(befores.Count);
        for (var i = 0; i < befores.Count; i++)
        {
            items.Add(decision.ItemStatuses[i] != ApplyStatus.Applied ? BsonBoolean.False : (BsonValue?)befores[i] ?? BsonNull.Value);
        }

        document.Add("items", items);
        if (record.Items?.Any(static i => i.PayloadKeyId is not null) == true)
        {
            // Which data key seals each item's subject: an erasure forgets the before images kept under its keys.
            document.Add("itemKeyIds", new BsonArray(record.Items.Select(static i => i.PayloadKeyId is { } id ? (BsonValue)MongoCommands.FormatId(id) : BsonNull.Value)));
        }

        return document;
    }

    /// <summary>The batch part of a stored resolution (absent for single-entity records).</summary>
    /// <exception cref="FormatException">The stored items are not an array of documents, nulls and falses.</exception>
    public static (int? FailedItem, IReadOnlyList<ApplyResult>? Items) Read(BsonDocument resolution, Lsn lsn)
    {
        int? failed = resolution.TryGetValue("failedItem", out var f) && f.IsNumeric ? f.ToInt32() : null;
        if (!resolution.TryGetValue("items", out var value) || value.IsBsonNull)
        {
            return (failed, null);
        }

        if (value is not BsonArray array || array.Count == 0)
        {
            throw new FormatException($"The stored resolution of LSN {lsn} has items that are not a non-empty array.");
        }

        var items = new List<ApplyResult>(array.Count);
        foreach (var item in array)
        {
            items.Add(item switch
            {
                BsonBoolean { Value: false } => new ApplyResult { Lsn = lsn, Status = ApplyStatus.AlreadyApplied },
                BsonNull => new ApplyResult { Lsn = lsn, Status = ApplyStatus.Applied },
                BsonDocument before => new ApplyResult { Lsn = lsn, Status = ApplyStatus.Applied, Before = MongoJson.ToJson(before) },
                _ => throw new FormatException($"A stored batch item outcome of LSN {lsn} is a {item.BsonType}; expected a document, null or false."),
            });
        }

        return (failed, items);
    }

    /// <summary>Why a standalone server cannot take batches (one line, no connection string).</summary>
    public static string StandaloneRefusal(string servers, string database) =>
        $"MongoDB at {servers} (database '{database}') is a standalone server: atomic multi-entity batches need a multi-document " +
        "transaction, which MongoDB only offers on a replica set or sharded cluster. Run it as a replica set (a one-node set is " +
        "enough: mongod --replSet rs0, then rs.initiate()), or send the writes one by one.";
}
