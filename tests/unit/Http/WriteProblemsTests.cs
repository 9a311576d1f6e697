using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Http;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Unit.Tests.Http;

/// <summary>The write refusals' answers: a WAL fault or a failed pipeline stage is answered with a fixed detail, never
/// with the exception's own text (file paths, I/O errors, a store's message with its hosts and stack), which stays in the
/// log; the pipeline's deliberate messages (not ready, stopping, durable at LSN n) are kept.</summary>
public sealed class WriteProblemsTests
{
    private const string Marker = "MARKER-/var/lib/nv/wal/segment.0-EIO";

    private static async Task<(int Status, string Body)> AnswerAsync(Exception exception)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Request.Headers["X-Request-Id"] = "r-1";
        context.Response.Body = new MemoryStream();
        await WriteProblems.For(context, exception, "write").ExecuteAsync(context);
        return (context.Response.StatusCode, Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()));
    }

    [Fact]
    public async Task A_wal_fault_is_answered_without_the_faults_message()
    {
        var (status, body) = await AnswerAsync(new WalFaultedException("The write-ahead log is faulted: " + Marker, "/var/lib/nv/wal", 5,
            new IOException(Marker)));

        Assert.Equal(500, status);
        Assert.Contains("wal-faulted", body, StringComparison.Ordinal);
        Assert.Contains("\"requestId\":\"r-1\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_stage_is_answered_without_its_cause_but_with_the_durable_lsn()
    {
        var cause = new InvalidOperationException(Marker);
        var (status, body) = await AnswerAsync(new PipelineUnavailableException(
            "Nv's write pipeline has failed and accepts no writes until the host is restarted: " + cause.Message, new Lsn(42), cause));

        Assert.Equal(503, status);
        Assert.Contains("not-ready", body, StringComparison.Ordinal);
        Assert.Contains("\"lsn\":42", body, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pipelines_own_messages_are_kept()
    {
        var (status, body) = await AnswerAsync(new PipelineUnavailableException("Nv is stopping and accepts no new writes.", null));

        Assert.Equal(503, status);
        Assert.Contains("Nv is stopping and accepts no new writes.", body, StringComparison.Ordinal);
    }
}
