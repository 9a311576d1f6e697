using System.Net;
using Microsoft.Data.Sqlite;

namespace Nv.Integration.Tests.Http;

/// <summary>The entity database becomes unavailable (another process holds its write lock) under the real HTTP host:
/// a write is answered 503 Problem+json saying it is durable in the WAL, with its LSN; it is applied once the database
/// is back, and a retry with the same X-Request-Id then returns the applied outcome.</summary>
public sealed class DatabaseOutageApiTests
{
    [Fact]
    public async Task A_write_while_the_database_is_locked_is_a_503_with_the_lsn_and_applies_when_the_lock_is_released()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:DbWriter:SqliteBusyTimeout=00:00:01");
        var id = "o-" + Guid.NewGuid().ToString("N")[..8];
        var requestId = NvTestApp.NewRequestId();
        HttpResponseMessage pending;
        using (var holder = new SqliteConnection($"Data Source={Path.Combine(app.DataDirectory, "nv.db")};Pooling=False"))
        {
            holder.Open();
            using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;";
                begin.ExecuteNonQuery();
            }

            pending = await app.CreateAsync("Order", id, """{"total":5}""", requestId);
        }

        var problem = await NvTestApp.AssertProblemAsync(pending, 503, "db-unavailable");
        Assert.Contains("durable", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var lsn = problem.GetProperty("lsn").GetInt64();
        Assert.True(lsn > 0);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpResponseMessage get;
        while ((get = await app.SendAsync(HttpMethod.Get, $"/v1/entities/Order/{id}")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "the pending write was not applied after the lock was released");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Equal($"\"{lsn}\"", get.Headers.ETag?.Tag);
        var retry = await app.CreateAsync("Order", id, """{"total":5}""", requestId);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(lsn, app.Wal.LastLsn.Value);
    }
}
