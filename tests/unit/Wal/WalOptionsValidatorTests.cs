using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

public sealed class WalOptionsValidatorTests : WalTestBase
{
    private static ValidateOptionsResult Check(WalOptions o) => new WalOptionsValidator().Validate(null, o);

    [Fact]
    public void Defaults_are_valid() => Assert.True(Check(new WalOptions()).Succeeded);

    [Theory]
    [InlineData(22, 20, 26, 1 << 20)] // segment smaller than page
    [InlineData(22, 28, 22, 1 << 20)] // memory not above page
    [InlineData(12, 16, 15, 8192)] // record larger than a page
    [InlineData(4, 16, 15, 100)] // page too small
    [InlineData(22, 28, 26, 10)] // record limit too small
    public void Inconsistent_sizes_fail(int page, int segment, int memory, int maxRecord) =>
        Assert.True(Check(new WalOptions { PageSizeBits = page, SegmentSizeBits = segment, MemorySizeBits = memory, MaxRecordBytes = maxRecord }).Failed);

    [Fact]
    public void Empty_directory_bad_mode_and_intervals_fail()
    {
        Assert.True(Check(new WalOptions { Directory = " " }).Failed);
        Assert.True(Check(new WalOptions { RecoveryMode = (WalRecoveryMode)42 }).Failed);
        Assert.True(Check(new WalOptions { WatermarkPersistInterval = TimeSpan.Zero }).Failed);
        Assert.True(Check(new WalOptions { Retention = TimeSpan.FromSeconds(-1) }).Failed);
    }

    [Fact]
    public async Task AddNvWal_registers_a_singleton_that_opens_the_log()
    {
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddNvWal(o =>
        {
            var t = Options();
            o.Directory = t.Directory;
            o.PageSizeBits = t.PageSizeBits;
            o.MemorySizeBits = t.MemorySizeBits;
            o.SegmentSizeBits = t.SegmentSizeBits;
            o.MaxRecordBytes = t.MaxRecordBytes;
        });
        await using var provider = services.BuildServiceProvider();
        var wal = provider.GetRequiredService<IWriteAheadLog>();
        Assert.Same(wal, provider.GetRequiredService<IWriteAheadLog>());
        Assert.Equal(WalState.Open, wal.State);
        Assert.Single(provider.GetServices<IValidateOptions<WalOptions>>().OfType<WalOptionsValidator>());
    }

    [Fact]
    public void Open_with_invalid_options_throws() =>
        Assert.Throws<OptionsValidationException>(() => WriteAheadLog.Open(new WalOptions { Directory = Directory, PageSizeBits = 30, SegmentSizeBits = 12 }));
}
