using MongoDB.Driver;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>One operation the fake server received: its kind ("find", "insert", "bulk", "update", "replace", "delete",
/// "createIndex", "listCollections", "command"), where, the read preference and write concern it was sent with, and a
/// find's maxTimeMS.</summary>
public sealed record FakeOperation(string Kind, string Database, string Collection, ReadPreference? ReadPreference, WriteConcern? WriteConcern,
    TimeSpan? MaxTime = null);
