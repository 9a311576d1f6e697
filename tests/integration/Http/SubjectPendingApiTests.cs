using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Nv.DbWriter;
using Nv.Integration.Tests.Support;
using Nv.Wal.Protection;

namespace Nv.Integration.Tests.Http;

/// <summary>Encryption at rest with Order mapped to the Customer its <c>customerId</c> names: while an order's create is
/// durable but not applied, its DELETE is answered <c>409 subject-pending</c> with <c>Retry-After</c> and writes nothing;
/// once the create is applied the retry deletes it.</summary>
public sealed class SubjectPendingApiTests : IAsyncLifetime
{
    private readonly TempDirectory _keys = new();
    private NvTestApp _app = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var master = Path.Combine(_keys.Path, "master.key");
        FileMasterKeyProvider.CreateKeyFile(master);
        _app = await NvTestApp.StartAsync(null, "--Nv:Encryption:MasterKeyFile=" + master, "--Nv:Encryption:Subjects:Order=Customer:customerId");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _keys.Dispose();
    }

    [Fact]
    public async Task A_delete_racing_its_orders_unapplied_create_is_409_subject_pending_with_retry_after_and_its_retry_deletes_it()
    {
        Assert.Equal(HttpStatusCode.Created, (await _app.CreateAsync("Customer", "ada", """{"name":"Ada"}""")).StatusCode);
        using var hold = ApplyHold.Next(_app.App.Services.GetRequiredService<IDbWriter>()); // the order's create
        try
        {
            using var create = NvTestApp.Request(HttpMethod.Post, "/v1/entities/Order/o-5", """{"customerId":"ada"}""", NvTestApp.NewRequestId());
            create.Headers.Add("Prefer", "nv-ack=durable");
            using (var accepted = await _app.Client.SendAsync(create, Ct))
            {
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            }

            Assert.True(await hold.ReachedAsync(TimeSpan.FromSeconds(30), Ct), "the create's apply was not held");
            using var refused = await _app.SendAsync(HttpMethod.Delete, "/v1/entities/Order/o-5", requestId: NvTestApp.NewRequestId());
            var problem = await refused.Content.ReadAsStringAsync(Ct);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("problems/subject-pending", problem, StringComparison.Ordinal);
            Assert.Equal("1", Assert.Single(refused.Headers.GetValues("Retry-After")));
        }
        finally
        {
            hold.Release();
        }

        var status = HttpStatusCode.Conflict;
        for (var attempt = 0; status == HttpStatusCode.Conflict && attempt < 200; attempt++)
        {
            using var retry = await _app.SendAsync(HttpMethod.Delete, "/v1/entities/Order/o-5", requestId: NvTestApp.NewRequestId());
            status = retry.StatusCode;
            if (status == HttpStatusCode.Conflict)
            {
                await Task.Delay(50, Ct); // as its Retry-After says, sooner
            }
        }

        Assert.True(status is HttpStatusCode.OK or HttpStatusCode.NoContent, $"the retried delete: {(int)status}");
        Assert.Equal(HttpStatusCode.NotFound, (await _app.SendAsync(HttpMethod.Get, "/v1/entities/Order/o-5")).StatusCode);
    }
}
