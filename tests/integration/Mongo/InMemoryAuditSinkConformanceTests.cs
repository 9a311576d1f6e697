using Nv.Audit;
using Nv.Integration.Tests.Conformance;

namespace Nv.Integration.Tests.Mongo;

/// <summary>The audit-sink conformance suite against the in-memory sink of the in-memory mode: the same chain and hashes
/// as the SQLite and MongoDB sinks.</summary>
public sealed class InMemoryAuditSinkConformanceTests : AuditSinkConformanceTests
{
    private readonly IAuditSink _sink = AuditSinks.CreateInMemory();

    protected override Task<IAuditSink> OpenSinkAsync() => Task.FromResult<IAuditSink>(new KeptOpen.Sink(_sink));
}
