namespace Nv.Integration.Tests.Mongo;

/// <summary>Every MongoDB test shares one <see cref="MongoFixture"/> (one container or server for the run).</summary>
[CollectionDefinition("mongo")]
public sealed class MongoTestGroup : ICollectionFixture<MongoFixture>;
