using System.Diagnostics;

namespace Nv.Integration.Tests.Support;

/// <summary>Runs docs/audit_verify_reference.py, the independent Python implementation of the formats, and returns its
/// one-line verdict ("OK ..." or "BROKEN ..."); the test is skipped when python3 is not installed.</summary>
internal static class ReferenceVerifier
{
    public static async Task<string> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(System.IO.Path.Combine(RepoRoot.Path, "docs", "audit_verify_reference.py"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Skip("python3 is not installed: the reference verifier cannot run here.");
            throw;
        }

        using (process)
        {
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = await process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            return (output + errors).Trim();
        }
    }
}
