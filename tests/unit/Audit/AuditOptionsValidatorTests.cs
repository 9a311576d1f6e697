using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Audit;

namespace Nv.Unit.Tests.Audit;

public sealed class AuditOptionsValidatorTests
{
    private static bool Valid(AuditOptions options) => new AuditOptionsValidator().Validate(null, options).Succeeded;

    [Fact]
    public void Defaults_are_valid()
    {
        Assert.True(Valid(new AuditOptions()));
    }

    /// <summary>The MongoDB audit store has no archives or retention: a retention set with it was silently ignored.</summary>
    [Fact]
    public void A_retention_with_a_mongodb_trail_is_refused_in_one_line_naming_both_settings()
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { MongoUri = "mongodb://h/", Retention = TimeSpan.FromDays(365) });

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains("Nv:Audit:Retention", failure, StringComparison.Ordinal);
        Assert.Contains("Nv:Audit:MongoUri", failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
        Assert.True(Valid(new AuditOptions { Retention = TimeSpan.FromDays(365) })); // SQLite: fine
        Assert.True(Valid(new AuditOptions { MongoUri = "mongodb://h/" }));
    }

    /// <summary>One refuses to open without the host's key, the other opens and signs nothing: both at once means neither.</summary>
    [Fact]
    public void Signing_only_with_the_hosts_key_refused_or_skipped_are_exclusive()
    {
        Assert.True(Valid(new AuditOptions { SignWithHostKeyOnly = true }));
        Assert.True(Valid(new AuditOptions { SignWithHostKeyIfAvailable = true }));
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { SignWithHostKeyOnly = true, SignWithHostKeyIfAvailable = true });
        Assert.Contains("exclude each other", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Data_directory_is_required(string directory)
    {
        Assert.False(Valid(new AuditOptions { DataDirectory = directory }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sub/audit.db")]
    [InlineData("..")]
    [InlineData("a\\b.db")]
    public void File_name_must_be_a_plain_name(string name)
    {
        Assert.False(Valid(new AuditOptions { SqliteFileName = name }));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(1, true)]
    [InlineData(10_000, true)]
    [InlineData(10_001, false)]
    public void Batch_size_is_bounded(int size, bool valid)
    {
        Assert.Equal(valid, Valid(new AuditOptions { MaxBatchSize = size }));
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(100_000, true)]
    public void Bulk_index_threshold_is_zero_to_turn_off_or_positive(long threshold, bool valid)
    {
        Assert.Equal(valid, Valid(new AuditOptions { BulkIndexThreshold = threshold }));
    }

    [Theory]
    [InlineData(-1, 0, false)]
    [InlineData(0, 0, true)]
    [InlineData(10_000, 300, true)]
    [InlineData(1, -1, false)]
    public void Checkpoint_cadence_is_not_negative(int entries, int seconds, bool valid)
    {
        Assert.Equal(valid, Valid(new AuditOptions { CheckpointEveryEntries = entries, CheckpointInterval = TimeSpan.FromSeconds(seconds) }));
    }

    [Fact]
    public void Signing_key_path_must_not_be_empty()
    {
        Assert.False(Valid(new AuditOptions { SigningKeyPath = "" }));
        Assert.True(Valid(new AuditOptions { SigningKeyPath = "/etc/nv/audit-key.pem" }));
    }

    [Fact]
    public async Task Add_nv_audit_registers_the_proofs_service()
    {
        await using var provider = new ServiceCollection()
            .AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build())
            .AddNvAudit(o => o.DataDirectory = Path.GetTempPath())
            .BuildServiceProvider();
        Assert.Same(provider.GetRequiredService<IAuditSink>(), provider.GetRequiredService<IAuditProofs>());
    }

    [Fact]
    public void Every_failure_is_reported()
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { DataDirectory = "", SqliteFileName = "", MaxBatchSize = 0 });
        Assert.Equal(3, result.Failures!.Count());
    }

    [Fact]
    public void Open_sqlite_rejects_invalid_options()
    {
        Assert.Throws<OptionsValidationException>(() => AuditSinks.OpenSqlite(new AuditOptions { MaxBatchSize = 0 }));
    }

    [Fact]
    public void Registration_adds_the_sink_and_validator()
    {
        var services = new ServiceCollection()
            .AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build())
            .AddNvAudit(o => o.MaxBatchSize = 0);
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IAuditSink>());
        Assert.Contains("MaxBatchSize", ex.Message, StringComparison.Ordinal);
    }
}
