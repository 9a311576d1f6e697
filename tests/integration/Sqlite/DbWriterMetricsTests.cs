using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Nv.DbWriter;
using Nv.Integration.Tests.Support;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

public sealed class DbWriterMetricsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Record_outcomes_and_batch_durations_are_measured()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var records = new MetricCollector<long>(meterFactory, "Nv.DbWriter", "nv.dbwriter.records");
        using var durations = new MetricCollector<double>(meterFactory, "Nv.DbWriter", "nv.dbwriter.batch.duration");

        await using (var writer = DbWriters.OpenSqlite(new DbWriterOptions { DataDirectory = _directory.Path }, meterFactory: meterFactory))
        {
            await writer.ApplyAsync([Create(1, "o1", "{}"), Create(2, "o1", "{}"), Update(3, "o1", "{}")], ct);
            await writer.ApplyAsync([Create(1, "o1", "{}")], ct);
        }

        long Count(string status) => records.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags["nv.dbwriter.status"], status)).Sum(m => m.Value);
        Assert.Equal(2, Count("applied"));
        Assert.Equal(1, Count("rejected"));
        Assert.Equal(1, Count("already_applied"));
        Assert.Equal(2, durations.GetMeasurementSnapshot().Count);
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.True(m.Value > 0));
    }
}
