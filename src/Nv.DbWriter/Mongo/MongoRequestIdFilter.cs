using Microsoft.Extensions.Logging;
using MongoDB.Bson;
using MongoDB.Driver;

namespace Nv.DbWriter.Mongo;

/// <summary>The MongoDB writer's <see cref="RequestIdFilter"/>: its build reads the <c>_id</c>s of <c>_nv_requests</c>
/// in <c>_id</c> order, in chunks (each a query of its own, bounded by <c>maxTimeMS</c>), beside the writer.</summary>
/// <remarks>The writer adds each request id before the write that stores its outcome is sent (the batch's unordered upsert,
/// or a batch record's transaction), under its gate; a build starts under the gate too, between batches. An outcome's
/// <c>_id</c> never changes and documents are only deleted (purge, TTL), so every outcome stored before the build started
/// is returned by whichever chunk covers its <c>_id</c>; one stored after it started was added to the new filter directly.
/// An outcome write whose acknowledgement was lost leaves its record unresolved: the retry adds its id again.</remarks>
internal sealed class MongoRequestIdFilter : RequestIdFilter
{
    private const int ChunkDocuments = 65_536;

    private readonly IMongoCollection<BsonDocument> _requests;
    private readonly TimeSpan _operationTimeout;

    public MongoRequestIdFilter(IMongoCollection<BsonDocument> requests, TimeSpan operationTimeout, ILogger logger, long minCapacity = MinCapacity)
        : base(logger, minCapacity)
    {
        _requests = requests;
        _operationTimeout = operationTimeout;
    }

    /// <summary>An upper bound of the ids stored, to size a new build: the ids this filter holds (none before the first build).</summary>
    public long StoredIdsBound() => Count;

    protected override async Task<long> FillAsync(StringBloomFilter filter, CancellationToken cancellationToken)
    {
        long read = 0;
        BsonValue? after = null;
        while (true)
        {
            var query = after is null ? new BsonDocument() : new BsonDocument("_id", new BsonDocument("$gt", after));
            var chunk = await _requests.Find(query, new FindOptions { MaxTime = _operationTimeout })
                .Sort(new BsonDocument("_id", 1)).Project(new BsonDocument("_id", 1)).Limit(ChunkDocuments).ToListAsync(cancellationToken);
            foreach (var document in chunk)
            {
                after = document["_id"];
                if (after is BsonDocument id && id.GetValue("r", BsonNull.Value) is BsonString requestId)
                {
                    filter.Add(requestId.Value);
                }
            }

            read += chunk.Count;
            if (chunk.Count < ChunkDocuments)
            {
                return read;
            }
        }
    }
}
