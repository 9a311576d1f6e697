using Microsoft.Extensions.Options;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Pipeline;

public sealed class PipelineLimitsValidatorTests
{
    private static ValidateOptionsResult Check(PipelineOptions pipeline, WalOptions wal) =>
        new PipelineLimitsValidator(Options.Create(wal)).Validate(null, pipeline);

    [Fact]
    public void The_default_limits_fit_together() => Assert.True(Check(new PipelineOptions(), new WalOptions()).Succeeded);

    [Fact]
    public void A_payload_limit_larger_than_a_wal_record_is_refused_in_one_line_naming_both_settings()
    {
        // The configuration: Nv__Pipeline__MaxPayloadBytes=4194304 with the WAL's default 1 MiB records.
        var result = Check(new PipelineOptions { MaxPayloadBytes = 4_194_304 }, new WalOptions());

        Assert.True(result.Failed);
        var message = Assert.Single(result.Failures!);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("Nv:Pipeline:MaxPayloadBytes (4194304)", message, StringComparison.Ordinal);
        Assert.Contains("Nv:Wal:MaxRecordBytes (1048576)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_record_overhead_counts_too()
    {
        var overhead = RequestValidator.MaxRecordOverheadBytes(new PipelineOptions());
        Assert.InRange(overhead, 1000, 8000);
        Assert.True(Check(new PipelineOptions { MaxPayloadBytes = 8192 - overhead, MaxBatchBytes = 8192 }, new WalOptions { MaxRecordBytes = 8192 }).Succeeded);
        Assert.True(Check(new PipelineOptions { MaxPayloadBytes = 8192 - overhead + 1, MaxBatchBytes = 8192 }, new WalOptions { MaxRecordBytes = 8192 }).Failed);
    }

    [Fact]
    public void With_encryption_at_rest_the_seal_and_subject_count_too()
    {
        var plain = RequestValidator.MaxRecordOverheadBytes(new PipelineOptions());
        var sealing = RequestValidator.MaxRecordOverheadBytes(new PipelineOptions(), sealing: true);
        Assert.True(sealing > plain + Nv.Wal.Protection.DataKey.SealOverhead);
        var encryption = Options.Create(new Nv.Host.Protection.EncryptionOptions { MasterKeyFile = "/keys/master.key" });
        var pipeline = new PipelineOptions { MaxPayloadBytes = 8192 - plain, MaxBatchBytes = 8192 };
        Assert.True(Check(pipeline, new WalOptions { MaxRecordBytes = 8192 }).Succeeded);
        Assert.True(new PipelineLimitsValidator(Options.Create(new WalOptions { MaxRecordBytes = 8192 }), encryption).Validate(null, pipeline).Failed);
        Assert.True(new PipelineLimitsValidator(Options.Create(new WalOptions { MaxRecordBytes = 8192 }), encryption)
            .Validate(null, new PipelineOptions { MaxPayloadBytes = 8192 - sealing, MaxBatchBytes = 8192 }).Succeeded);
    }

    [Fact]
    public void A_batch_limit_larger_than_a_wal_record_is_refused_in_one_line_naming_both_settings()
    {
        // The review's configuration: a 64 KiB WAL record limit and the default 960 KiB batch limit.
        var result = Check(new PipelineOptions { MaxPayloadBytes = 16 * 1024 }, new WalOptions { MaxRecordBytes = 64 * 1024 });

        Assert.True(result.Failed);
        var message = Assert.Single(result.Failures!);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("Nv:Pipeline:MaxBatchBytes (983040)", message, StringComparison.Ordinal);
        Assert.Contains("Nv:Wal:MaxRecordBytes (65536)", message, StringComparison.Ordinal);
        Assert.True(Check(new PipelineOptions { MaxPayloadBytes = 16 * 1024, MaxBatchBytes = 64 * 1024 }, new WalOptions { MaxRecordBytes = 64 * 1024 }).Succeeded);
        Assert.True(Check(new PipelineOptions { MaxPayloadBytes = 16 * 1024, MaxBatchBytes = (64 * 1024) + 1 }, new WalOptions { MaxRecordBytes = 64 * 1024 }).Failed);
    }
}
