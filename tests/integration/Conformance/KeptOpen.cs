using Nv.Audit;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Integration.Tests.Conformance;

/// <summary>An in-memory store "reopened" by the conformance suites: the same instance, whose DisposeAsync is ignored
/// (closing a file store keeps its data; in memory, the data lives exactly as long as the instance).</summary>
internal sealed class KeptOpen(IDbWriter store) : IDbWriter
{
    public Task InitializeAsync(CancellationToken cancellationToken = default) => store.InitializeAsync(cancellationToken);

    public Task<IReadOnlyList<ApplyResult>> ApplyAsync(IReadOnlyList<WalRecord> batch, CancellationToken cancellationToken = default) =>
        store.ApplyAsync(batch, cancellationToken);

    public Task<StoredEntity?> GetAsync(string dtoType, string entityId, CancellationToken cancellationToken = default) =>
        store.GetAsync(dtoType, entityId, cancellationToken);

    public Task<IReadOnlyList<RecordResolution>> GetResolutionsAsync(Lsn after, int limit, CancellationToken cancellationToken = default) =>
        store.GetResolutionsAsync(after, limit, cancellationToken);

    public Task<RecordResolution?> FindByRequestIdAsync(string requestId, CancellationToken cancellationToken = default) =>
        store.FindByRequestIdAsync(requestId, cancellationToken);

    public Task<IReadOnlyDictionary<string, RecordResolution>> FindByRequestIdsAsync(IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken = default) =>
        store.FindByRequestIdsAsync(requestIds, cancellationToken);

    public Task<IReadOnlyDictionary<RequestKey, RequestOutcome>> FindRequestsAsync(IReadOnlyCollection<RequestKey> keys, CancellationToken cancellationToken = default) =>
        store.FindRequestsAsync(keys, cancellationToken);

    public Task<long> PurgeRequestsAsync(DateTimeOffset createdBefore, CancellationToken cancellationToken = default) =>
        store.PurgeRequestsAsync(createdBefore, cancellationToken);

    public Task<Lsn> GetResolvedThroughAsync(CancellationToken cancellationToken = default) => store.GetResolvedThroughAsync(cancellationToken);

    public Task PurgeAsync(Lsn upTo, CancellationToken cancellationToken = default) => store.PurgeAsync(upTo, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The same for an audit sink.</summary>
    internal sealed class Sink(IAuditSink sink) : IAuditSink, IAuditProofs
    {
        // The wrapped sink's proofs, when it has them (the in-memory and embedded stores do).
        private IAuditProofs Proofs => sink as IAuditProofs ?? throw new NotSupportedException($"{sink.GetType().Name} keeps no Merkle tree.");

        public Task<string> GetPublicKeyPemAsync(CancellationToken cancellationToken = default) => Proofs.GetPublicKeyPemAsync(cancellationToken);

        public Task<string> GetTrustedPublicKeysPemAsync(CancellationToken cancellationToken = default) =>
            Proofs.GetTrustedPublicKeysPemAsync(cancellationToken);

        public Task<AuditInclusionProof?> GetInclusionProofAsync(Guid entryId, long? treeSize = null, CancellationToken cancellationToken = default) =>
            Proofs.GetInclusionProofAsync(entryId, treeSize, cancellationToken);

        public Task<AuditConsistencyProof> GetConsistencyProofAsync(string chain, long fromSize, long toSize, CancellationToken cancellationToken = default) =>
            Proofs.GetConsistencyProofAsync(chain, fromSize, toSize, cancellationToken);

        public Task<Nv.Audit.Merkle.SignedCheckpoint?> CheckpointAsync(string chain, CancellationToken cancellationToken = default) =>
            Proofs.CheckpointAsync(chain, cancellationToken);

        public Task<IReadOnlyList<Nv.Audit.Merkle.SignedCheckpoint>> CheckpointAllAsync(CancellationToken cancellationToken = default) =>
            Proofs.CheckpointAllAsync(cancellationToken);

        public Task<Nv.Audit.Merkle.SignedCheckpoint?> GetLatestCheckpointAsync(string chain, CancellationToken cancellationToken = default) =>
            Proofs.GetLatestCheckpointAsync(chain, cancellationToken);

        public Task<IReadOnlyList<Nv.Audit.Merkle.SignedCheckpoint>> GetLatestCheckpointsAsync(CancellationToken cancellationToken = default) =>
            Proofs.GetLatestCheckpointsAsync(cancellationToken);

        public Task<AuditVerification> VerifyAsync(AuditVerifyOptions? options, CancellationToken cancellationToken = default) =>
            Proofs.VerifyAsync(options, cancellationToken);

        public Task InitializeAsync(CancellationToken cancellationToken = default) => sink.InitializeAsync(cancellationToken);

        public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) => sink.AppendAsync(entries, cancellationToken);

        public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, Lsn auditedThrough, CancellationToken cancellationToken = default) =>
            sink.AppendAsync(entries, auditedThrough, cancellationToken);

        public Task<Lsn?> GetAuditedThroughAsync(CancellationToken cancellationToken = default) => sink.GetAuditedThroughAsync(cancellationToken);

        public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default) => sink.ContainsAsync(ids, cancellationToken);

        public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default) => sink.GetAsync(id, cancellationToken);

        public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => sink.QueryAsync(query, cancellationToken);

        public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) => sink.VerifyAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
