namespace Nv.DbWriter.Mongo;

/// <summary>What the server behind a connection string is, from its <c>hello</c> answer.</summary>
internal enum MongoTopology
{
    /// <summary>A single server: durability is its journal (<c>j:true</c>).</summary>
    Standalone,

    /// <summary>A replica set member (<c>setName</c> in hello): a write can roll back unless a majority has it.</summary>
    ReplicaSet,

    /// <summary>A <c>mongos</c> router (<c>msg: "isdbgrid"</c>): every shard is a replica set, so the same holds.</summary>
    Sharded,
}
