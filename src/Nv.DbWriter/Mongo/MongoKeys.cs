using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Wal;

namespace Nv.DbWriter.Mongo;

/// <summary>The key store's documents, filters and updates on MongoDB, as pure functions (unit-tested as BSON).</summary>
/// <remarks>
/// <c>_nv_keys</c>: <c>{ _id: keyId, masterKeyId, wrapped: BinData, subject: string | null, assignedLsn, createdAt }</c>;
/// <c>_nv_subjects</c>: <c>{ _id: { t: dtoType, e: entityId }, subject }</c> (only entities whose subject is not the
/// entity itself); <c>_nv_erasures</c>: <c>{ _id: lsn, subject, walId, requestId, erasedAt, keysDestroyed,
/// entitiesDeleted }</c>. Resolutions carry <c>keyId</c> when their record was sealed. Every write uses the writer's
/// write concern (<c>j:true</c>).
/// </remarks>
internal static class MongoKeys
{
    public const string KeysCollection = "_nv_keys";
    public const string SubjectsCollection = "_nv_subjects";
    public const string ErasuresCollection = "_nv_erasures";

    public static BsonDocument KeyDocument(StoredDataKey key) => new()
    {
        { "_id", MongoCommands.FormatId(key.KeyId) },
        { "masterKeyId", key.MasterKeyId },
        { "wrapped", new BsonBinaryData(key.WrappedKey) },
        { "subject", (BsonValue?)key.Subject ?? BsonNull.Value },
        { "createdAt", key.CreatedAt.UtcDateTime },
    };

    public static StoredDataKey ReadKey(BsonDocument document) => new()
    {
        KeyId = Guid.ParseExact(document["_id"].AsString, "D"),
        MasterKeyId = document["masterKeyId"].AsString,
        WrappedKey = document["wrapped"].AsByteArray,
        Subject = document.GetValue("subject", BsonNull.Value) is BsonString subject ? subject.Value : null,
        CreatedAt = new DateTimeOffset(document["createdAt"].ToUniversalTime(), TimeSpan.Zero),
    };

    public static BsonDocument KeysByIds(IEnumerable<Guid> ids) => new("_id", new BsonDocument("$in", new BsonArray(ids.Select(MongoCommands.FormatId))));

    public static BsonDocument KeysOfSubjects(IEnumerable<string> subjects) => new("subject", new BsonDocument("$in", new BsonArray(subjects)));

    public static BsonDocument KeysOfSubject(string subject) => new("subject", subject);

    public static BsonDocument UnassignedKeys { get; } = new("subject", BsonNull.Value);

    /// <summary>The assignment a record makes: its key now belongs to its subject (first record wins: only an unassigned
    /// key is updated).</summary>
    public static UpdateOneModel<BsonDocument> Assign(WalRecord record) => new(
        new BsonDocument { { "_id", MongoCommands.FormatId(record.PayloadKeyId!.Value) }, { "subject", BsonNull.Value } },
        new BsonDocument("$set", new BsonDocument { { "subject", record.Subject }, { "assignedLsn", record.Lsn.Value } }));

    public static BsonDocument EntityKey(string dtoType, string entityId) => new("_id", new BsonDocument { { "t", dtoType }, { "e", entityId } });

    public static ReplaceOneModel<BsonDocument> MapSubject(WalRecord record) => MapSubject(record.DtoType, record.EntityId, record.Subject!);

    public static ReplaceOneModel<BsonDocument> MapSubject(string dtoType, string entityId, string subject) => new(
        EntityKey(dtoType, entityId),
        new BsonDocument { { "_id", new BsonDocument { { "t", dtoType }, { "e", entityId } } }, { "subject", subject } })
    { IsUpsert = true };

    public static DeleteOneModel<BsonDocument> UnmapSubject(WalRecord record) => new(EntityKey(record.DtoType, record.EntityId));

    /// <summary>The change an applied record makes to <c>_nv_subjects</c>: a delete forgets its entity's subject, a write
    /// sealed under another entity's subject records it; none for a record sealed under its own entity, or unsealed.</summary>
    public static WriteModel<BsonDocument>? MappingOf(WalRecord record) =>
        record.PayloadKeyId is null || record.Subject is null || record.Operation is WalOperation.Erase or WalOperation.AuditEvent ? null
        : record.Operation == WalOperation.Delete ? UnmapSubject(record)
        : EntitySubjects.IsOwn(record.Subject, record.DtoType, record.EntityId) ? null
        : MapSubject(record);

    /// <summary>For an update that maps its entity (see <see cref="MappingOf"/>): the keys the entity's own subject holds (it
    /// was written before its type was mapped to a payload field's subject) handed to that subject, so its erasure destroys
    /// the entity's sealed history too; else null. Not for a create: its id may have served an entity deleted before the
    /// mapping, whose keys stay its own. Matches nothing once they went.</summary>
    public static UpdateManyModel<BsonDocument>? HandOverOf(WalRecord record) =>
        record.Operation == WalOperation.Update && MappingOf(record) is ReplaceOneModel<BsonDocument> ? HandOver(record.DtoType, record.EntityId, record.Subject!) : null;

    public static UpdateManyModel<BsonDocument> HandOver(string dtoType, string entityId, string subject) =>
        new(new BsonDocument("subject", EntitySubjects.Own(dtoType, entityId)), new BsonDocument("$set", new BsonDocument("subject", subject)));

    /// <summary>Before images kept under any of these keys, forgotten by an erasure.</summary>
    public static BsonDocument ResolutionsSealedBy(IEnumerable<Guid> keyIds) => new()
    {
        { "keyId", new BsonDocument("$in", new BsonArray(keyIds.Select(MongoCommands.FormatId))) },
        { "before", new BsonDocument("$ne", BsonNull.Value) },
    };

    public static BsonDocument ForgetBefore { get; } = new("$set", new BsonDocument("before", BsonNull.Value));

    /// <summary>The tombstone an erasure leaves on a live entity (guarded: only a slot written before the erasure).</summary>
    public static UpdateOneModel<BsonDocument> EraseEntity(WalRecord erase, string entityId) => new(
        new BsonDocument
        {
            { "_id", entityId },
            { MongoCommands.NvLsn, new BsonDocument("$lt", erase.Lsn.Value) },
            { MongoCommands.NvDeleted, false },
        },
        MongoCommands.EntityUpdate(erase, document: null));

    public static BsonDocument Erasure(WalRecord erase, int keysDestroyed, int entitiesDeleted) => new()
    {
        { "_id", erase.Lsn.Value },
        { "subject", erase.Subject },
        { "walId", MongoCommands.FormatId(erase.Id) },
        { "requestId", erase.RequestId },
        { "erasedAt", erase.Timestamp.UtcDateTime },
        { "keysDestroyed", keysDestroyed },
        { "entitiesDeleted", entitiesDeleted },
    };

    public static SubjectErasure ReadErasure(BsonDocument document) => new()
    {
        Subject = document["subject"].AsString,
        Lsn = new Lsn(document["_id"].ToInt64()),
        WalId = Guid.ParseExact(document["walId"].AsString, "D"),
        RequestId = document["requestId"].AsString,
        ErasedAt = new DateTimeOffset(document["erasedAt"].ToUniversalTime(), TimeSpan.Zero),
        KeysDestroyed = document["keysDestroyed"].ToInt32(),
        EntitiesDeleted = document["entitiesDeleted"].ToInt32(),
    };

    public static UpdateOneModel<BsonDocument> Rewrap(StoredDataKey key, string fromMasterKeyId, string toMasterKeyId, byte[] wrapped) => new(
        new BsonDocument { { "_id", MongoCommands.FormatId(key.KeyId) }, { "masterKeyId", fromMasterKeyId } },
        new BsonDocument("$set", new BsonDocument { { "masterKeyId", toMasterKeyId }, { "wrapped", new BsonBinaryData(wrapped) } }));

    /// <summary>A batch resolution's items with the before image of every item sealed under an erased key made null.</summary>
    public static BsonArray ForgetItems(BsonArray items, BsonArray itemKeyIds, IReadOnlySet<string> erased)
    {
        var copy = new BsonArray(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var erasedItem = i < itemKeyIds.Count && itemKeyIds[i] is BsonString id && erased.Contains(id.Value) && items[i] is BsonDocument;
            copy.Add(erasedItem ? BsonNull.Value : items[i]);
        }

        return copy;
    }
}
