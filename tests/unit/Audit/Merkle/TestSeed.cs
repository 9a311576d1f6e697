namespace Nv.Unit.Tests.Audit.Merkle;

/// <summary>Seeds for randomized tests: <c>NV_TEST_SEED</c> pins one; otherwise a fresh seed is drawn and reported on failure.</summary>
internal static class TestSeed
{
    public static int Next() =>
        int.TryParse(Environment.GetEnvironmentVariable("NV_TEST_SEED"), out var pinned) ? pinned : Random.Shared.Next();

    /// <summary>Runs <paramref name="body"/> with a seeded generator and names the seed if it fails.</summary>
    public static void Run(Action<Random> body)
    {
        var seed = Next();
        TestContext.Current.SendDiagnosticMessage($"seed {seed}");
        try
        {
            body(new Random(seed));
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"Failed with seed {seed} (rerun with NV_TEST_SEED={seed}): {ex.Message}", ex);
        }
    }
}
