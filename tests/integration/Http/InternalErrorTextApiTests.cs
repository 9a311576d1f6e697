using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.DbWriter;

namespace Nv.Integration.Tests.Http;

/// <summary>Error answers carry a fixed message and the request id, never an exception's own text: a MongoDB outage's
/// message names the cluster's hosts and state with a stack trace, .NET's argument messages name parameters. Each store
/// failure here is injected with a marker in its message, which must not reach the client (it is logged).</summary>
public sealed class InternalErrorTextApiTests
{
    private const string Marker = "MARKER-mongo-node-3.internal:27017-HeartbeatException-stack";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DbWriterException Outage() => new(
        "MongoDB read failed: A timeout occurred after 30000ms selecting a server. " + Marker, isTransient: true);

    private static async Task<string> AssertProblemWithoutMarkerAsync(HttpResponseMessage response, int status, string type)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        var problem = await NvTestApp.AssertProblemAsync(response, status, type);
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
        return problem.GetProperty("requestId").GetString()!;
    }

    [Fact]
    public async Task A_database_outage_on_entity_reads_patches_and_outcome_lookups_is_a_503_without_the_stores_message()
    {
        var down = false;
        await using var app = await NvTestApp.StartAsync(null, builder => ServiceProxy<IDbWriter>.Install(builder.Services, new()
        {
            [nameof(IDbWriter.GetAsync)] = (db, a) => down
                ? Task.FromException<StoredEntity?>(Outage())
                : db.GetAsync((string)a[0]!, (string)a[1]!, (CancellationToken)a[2]!),
            [nameof(IDbWriter.FindRequestsAsync)] = (db, a) => down
                ? Task.FromException<IReadOnlyDictionary<RequestKey, RequestOutcome>>(Outage())
                : db.FindRequestsAsync((IReadOnlyCollection<RequestKey>)a[0]!, (CancellationToken)a[1]!),
        }));
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Out", "o-1", """{"a":1}""")).StatusCode);
        down = true;

        var read = await app.SendAsync(HttpMethod.Get, "/v1/entities/Out/o-1");
        Assert.StartsWith("http:", await AssertProblemWithoutMarkerAsync(read, 503, "db-unavailable"), StringComparison.Ordinal);

        var patchId = NvTestApp.NewRequestId();
        var patch = await app.SendAsync(HttpMethod.Patch, "/v1/entities/Out/o-1", """{"a":2}""", patchId);
        Assert.Equal(patchId, await AssertProblemWithoutMarkerAsync(patch, 503, "db-unavailable"));

        // Not in the request-id cache: the lookup asks the database, whose exception reaches the last line of defence.
        var lookup = await app.SendAsync(HttpMethod.Get, "/v1/requests/never-seen");
        await AssertProblemWithoutMarkerAsync(lookup, 503, "db-unavailable");
    }

    [Fact]
    public async Task A_failed_pipeline_stage_answers_later_writes_503_without_its_cause()
    {
        var fail = false;
        await using var app = await NvTestApp.StartAsync(null, builder => ServiceProxy<IDbWriter>.Install(builder.Services, new()
        {
            [nameof(IDbWriter.ApplyAsync)] = (db, a) => fail
                ? Task.FromException<IReadOnlyList<ApplyResult>>(new InvalidOperationException("apply bug: " + Marker))
                : db.ApplyAsync((IReadOnlyList<Nv.Wal.WalRecord>)a[0]!, (CancellationToken)a[1]!),
        }), "--Nv:Pipeline:StopHostOnFault=false");
        fail = true;

        // The write that meets the failure, then one refused because the pipeline has failed: neither shows the cause.
        var first = await app.CreateAsync("Out", "f-1", """{"a":1}""");
        var firstBody = await first.Content.ReadAsStringAsync(Ct);
        Assert.True((int)first.StatusCode >= 500, firstBody);
        Assert.DoesNotContain(Marker, firstBody, StringComparison.Ordinal);

        var later = await app.CreateAsync("Out", "f-2", """{"a":1}""");
        await AssertProblemWithoutMarkerAsync(later, 503, "not-ready");
    }

    [Fact]
    public async Task The_operations_status_says_the_audit_store_failed_without_its_message()
    {
        var down = false;
        await using var app = await NvTestApp.StartAsync(null, builder =>
        {
            ServiceProxy<IAuditSink>.Install(builder.Services, new()
            {
                [nameof(IAuditSink.QueryAsync)] = (sink, a) => down
                    ? Task.FromException<AuditPage>(new TimeoutException(Marker))
                    : sink.QueryAsync((AuditQuery)a[0]!, (CancellationToken)a[1]!),
            });
            builder.Services.AddSingleton(sp => (IAuditProofs)((ServiceProxy<IAuditSink>)(object)sp.GetRequiredService<IAuditSink>()).Inner);
        });
        down = true;

        var response = await app.SendAsync(HttpMethod.Get, "/v1/ops/status");

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
        var chain = (await NvTestApp.JsonAsync(response)).GetProperty("chains")[0];
        Assert.Contains("could not be read", chain.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Fails while an audit store failure reaches the last line of defence as it is: every audit read answered
    /// 500 internal ("an unexpected error", not retryable) for an outage the client should retry.</summary>
    [Fact]
    public async Task An_audit_store_outage_on_every_audit_read_is_a_503_audit_unavailable_without_the_stores_message()
    {
        var down = false;
        await using var app = await NvTestApp.StartAsync(null, builder =>
        {
            ServiceProxy<IAuditSink>.Install(builder.Services, new()
            {
                [nameof(IAuditSink.QueryAsync)] = (sink, a) => down
                    ? Task.FromException<AuditPage>(new TimeoutException(Marker))
                    : sink.QueryAsync((AuditQuery)a[0]!, (CancellationToken)a[1]!),
                [nameof(IAuditSink.GetAsync)] = (sink, a) => down
                    ? Task.FromException<AuditEntry?>(new Microsoft.Data.Sqlite.SqliteException(Marker, 5)) // SQLITE_BUSY
                    : sink.GetAsync((Guid)a[0]!, (CancellationToken)a[1]!),
                [nameof(IAuditSink.VerifyAsync)] = (sink, a) => down
                    ? Task.FromException<AuditVerification>(new IOException(Marker))
                    : sink.VerifyAsync((CancellationToken)a[0]!),
            });
            builder.Services.AddSingleton(sp => (IAuditProofs)((ServiceProxy<IAuditSink>)(object)sp.GetRequiredService<IAuditSink>()).Inner);
            ServiceProxy<IAuditProofs>.Install(builder.Services, new()
            {
                [nameof(IAuditProofs.GetInclusionProofAsync)] = (proofs, a) => down
                    ? Task.FromException<AuditInclusionProof?>(new TimeoutException(Marker))
                    : proofs.GetInclusionProofAsync((Guid)a[0]!, (long?)a[1], (CancellationToken)a[2]!),
                [nameof(IAuditProofs.GetConsistencyProofAsync)] = (proofs, a) => down
                    ? Task.FromException<AuditConsistencyProof>(new TimeoutException(Marker))
                    : proofs.GetConsistencyProofAsync((string)a[0]!, (long)a[1]!, (long)a[2]!, (CancellationToken)a[3]!),
                [nameof(IAuditProofs.GetLatestCheckpointAsync)] = (proofs, a) => down
                    ? Task.FromException<Nv.Audit.Merkle.SignedCheckpoint?>(new TimeoutException(Marker))
                    : proofs.GetLatestCheckpointAsync((string)a[0]!, (CancellationToken)a[1]!),
            });
        }, "--Nv:Http:MaxConcurrentAuditQueries=1", "--Nv:Http:MaxConcurrentAuditVerifications=1");
        var requestId = NvTestApp.NewRequestId();
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Aud", "a-1", """{"a":1}""", requestId)).StatusCode);
        var entry = (await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}"))).GetProperty("entries")[0];
        var (id, chain) = (entry.GetProperty("id").GetString(), entry.GetProperty("service").GetString());
        down = true;

        var at = Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        foreach (var path in new[]
        {
            $"/v1/audit/requests/{requestId}", "/v1/audit/entities/Aud/a-1/history", $"/v1/audit/entities/Aud/a-1/as-of?at={at}",
            "/v1/audit/users/anyone/activity", "/v1/audit/entries", $"/v1/audit/entries/{id}", "/v1/audit/verify",
            $"/v1/audit/entries/{id}/leaf", $"/v1/audit/entries/{id}/proof", $"/v1/audit/chains/{chain}/consistency?from=1&to=1",
            $"/v1/audit/chains/{chain}/checkpoint",
        })
        {
            using var response = await app.SendAsync(HttpMethod.Get, path);
            var problem = await AssertProblemWithoutMarkerAsync(response, 503, "audit-unavailable");
            Assert.StartsWith("http:", problem, StringComparison.Ordinal);
            Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, path + ": no Retry-After");
        }

        // The failed reads gave their slots back (one query and one verification at a time here): the store answers again.
        down = false;
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Get, "/v1/audit/entries")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(HttpMethod.Get, "/v1/audit/verify")).StatusCode);
    }

    /// <summary>A row the store cannot decode (tampered with, or written by a newer Nv) is no outage: retrying cannot help,
    /// so it stays a 500 without Retry-After (the verifier names the damage). Failed while every exception of a read but a
    /// few was taken for an outage: a 503 audit-unavailable telling the client to retry in 5 s, for ever.</summary>
    [Theory]
    [InlineData("format")]
    [InlineData("invalid-data")]
    public async Task An_audit_row_the_store_cannot_decode_is_a_500_not_an_outage_to_retry(string kind)
    {
        await using var app = await NvTestApp.StartAsync(null, builder => ServiceProxy<IAuditSink>.Install(builder.Services, new()
        {
            [nameof(IAuditSink.GetAsync)] = (_, _) => Task.FromException<AuditEntry?>(kind == "format"
                ? new FormatException(Marker)
                : new InvalidDataException(Marker)),
        }));

        using var response = await app.SendAsync(HttpMethod.Get, $"/v1/audit/entries/{Guid.NewGuid()}");

        await AssertProblemWithoutMarkerAsync(response, 500, "internal");
        Assert.Null(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task The_operations_status_says_the_checkpoints_failed_without_the_message()
    {
        var down = false;
        await using var app = await NvTestApp.StartAsync(null, builder => ServiceProxy<IAuditProofs>.Install(builder.Services, new()
        {
            [nameof(IAuditProofs.GetLatestCheckpointAsync)] = (proofs, a) => down
                ? Task.FromException<Nv.Audit.Merkle.SignedCheckpoint?>(new TimeoutException(Marker))
                : proofs.GetLatestCheckpointAsync((string)a[0]!, (CancellationToken)a[1]!),
        }));
        down = true;

        var response = await app.SendAsync(HttpMethod.Get, "/v1/ops/status");

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
        Assert.Contains("checkpoints could not be read", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tree_size_out_of_range_is_a_400_in_nvs_words_not_dotnets()
    {
        await using var app = await NvTestApp.StartAsync();
        var requestId = NvTestApp.NewRequestId();
        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Proof", "p-1", """{"a":1}""", requestId)).StatusCode);
        var entry = (await NvTestApp.JsonAsync(await app.SendAsync(HttpMethod.Get, $"/v1/audit/requests/{requestId}"))).GetProperty("entries")[0];
        var chain = entry.GetProperty("service").GetString();

        foreach (var path in new[]
        {
            $"/v1/audit/entries/{entry.GetProperty("id").GetString()}/proof?treeSize=999999",
            $"/v1/audit/entries/{entry.GetProperty("id").GetString()}/proof?treeSize=0",
            $"/v1/audit/chains/{chain}/consistency?from=1&to=999999",
            $"/v1/audit/chains/{chain}/consistency?from=3&to=2",
        })
        {
            var response = await app.SendAsync(HttpMethod.Get, path);
            var body = await response.Content.ReadAsStringAsync(Ct);
            await NvTestApp.AssertProblemAsync(response, 400, "validation");
            Assert.DoesNotContain("Parameter", body, StringComparison.Ordinal);
            Assert.DoesNotContain("Actual value", body, StringComparison.Ordinal);
        }
    }
}
