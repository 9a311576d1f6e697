using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.Audit.Sqlite;
using Nv.Cli.Hosting;
using Nv.Host.Hosting;
using Nv.Host.Http;
using Nv.Integration.Tests.Http;
using Nv.Integration.Tests.Support;

namespace Nv.Integration.Tests.Mongo;

/// <summary>Issue 19 item 2, without a server: the real <c>nv serve</c> app with an audit store that keeps no Merkle tree
/// (as the MongoDB store, here the SQLite store seen only through <see cref="IAuditSink"/>): the proof and checkpoint
/// endpoints answer 501 with problem type <c>proofs-unavailable</c> (not 500), and verification checks the chain.</summary>
public sealed class ChainOnlyProofApiTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private WebApplication? _app;
    private HttpClient? _client;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // Audited acks: the test reads the audit trail right after its write.
        _app = NvWebApp.Build(["--Nv:DataDirectory=" + _directory.Path, "--Serilog:MinimumLevel:Default=Warning", "--Nv:Pipeline:Ack=Audited"], builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Services.Replace(ServiceDescriptor.Singleton<IAuditSink>(sp =>
                new SinkWithoutProofs(new SqliteAuditSink(sp.GetRequiredService<IOptions<AuditOptions>>().Value))));
        });
        await _app.StartAsync();
        await _app.Services.GetRequiredService<NvLifecycle>().Replayed.WaitAsync(TimeSpan.FromSeconds(30));
        _client = _app.GetTestClient();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    [Fact]
    public async Task Proof_endpoints_answer_501_and_verify_checks_the_chain()
    {
        var requestId = NvTestApp.NewRequestId();
        var created = await _client!.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/entities/Invoice/i-1", """{"total":1e5}""", requestId), Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var page = await NvTestApp.JsonAsync(await _client.GetAsync($"/v1/audit/requests/{requestId}", Ct));
        var id = Assert.Single(page.GetProperty("entries").EnumerateArray()).GetProperty("id").GetString();

        foreach (var path in new[] { $"/v1/audit/entries/{id}/proof", "/v1/audit/chains/nv/consistency?from=1&to=1", "/v1/audit/chains/nv/checkpoint" })
        {
            var problem = await NvTestApp.AssertProblemAsync(await _client.GetAsync(path, Ct), 501, "proofs-unavailable");
            Assert.Contains("Merkle", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var verify = await NvTestApp.JsonAsync(await _client.GetAsync("/v1/audit/verify", Ct));
        Assert.True(verify.GetProperty("isValid").GetBoolean());
    }

    /// <summary>An audit sink that is only a sink (no <see cref="IAuditProofs"/>), as the MongoDB one is.</summary>
    private sealed class SinkWithoutProofs(IAuditSink inner) : IAuditSink
    {
        public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

        public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default) => inner.AppendAsync(entries, cancellationToken);

        public Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, Nv.Wal.Lsn auditedThrough, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(entries, auditedThrough, cancellationToken);

        public Task<Nv.Wal.Lsn?> GetAuditedThroughAsync(CancellationToken cancellationToken = default) => inner.GetAuditedThroughAsync(cancellationToken);

        public Task<Nv.Wal.Lsn?> MakeDurableAsync(CancellationToken cancellationToken = default) => inner.MakeDurableAsync(cancellationToken);

        public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default) => inner.ContainsAsync(ids, cancellationToken);

        public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) => inner.QueryAsync(query, cancellationToken);

        public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) => inner.VerifyAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
