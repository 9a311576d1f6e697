using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary>Manual fault experiment, run under strace error injection (see the test for the command).</summary>
public sealed class WalFaultProbeTests : WalTestBase
{
    /// <summary>
    /// <c>NV_WAL_FAULT_PROBE=1 strace -f -qq -o /dev/null -e trace=pwrite64 -e inject=pwrite64:error=EIO:when=40+ \
    /// tests/unit/bin/Release/net10.0/Nv.Unit.Tests -method "*Appends_fail_stop_on_write_errors"</c>
    /// </summary>
    [Fact]
    public async Task Appends_fail_stop_on_write_errors()
    {
        if (Environment.GetEnvironmentVariable("NV_WAL_FAULT_PROBE") != "1")
        {
            Assert.Skip("Set NV_WAL_FAULT_PROBE=1 and run under strace error injection.");
        }

        var wal = Open();
        WalFaultedException? fault = null;
        var acknowledged = 0L;
        for (var i = 0; i < 2000 && fault is null; i++)
        {
            try
            {
                var r = await wal.AppendAsync(Record(i), Ct);
                await wal.FlushAsync(r.Lsn, Ct);
                acknowledged = r.Lsn.Value;
            }
            catch (WalFaultedException ex)
            {
                fault = ex;
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"acknowledged {acknowledged}, durable {wal.DurableLsn}, state {wal.State}");
        TestContext.Current.TestOutputHelper?.WriteLine($"fault: {fault}");
        Assert.NotNull(fault);
        Assert.Equal(WalState.Faulted, wal.State);
        Assert.Equal(new Lsn(acknowledged), wal.DurableLsn);
        await Assert.ThrowsAsync<WalFaultedException>(async () => await wal.AppendAsync(Record(1), Ct));
        await Assert.ThrowsAsync<WalFaultedException>(async () => await wal.FlushAsync(wal.LastLsn, Ct));
        await wal.DisposeAsync();
    }
}
