using System.Globalization;

namespace Nv.Smoke.Tests.Support;

/// <summary>Seeds for the crash tests: fresh each run (so CI explores new cases every time), printed in every message,
/// and pinned with <c>NV_TEST_SEED=n</c> to replay a failure.</summary>
/// <remarks>Theory data holds only stable case names (test discovery must not depend on the seed); each case derives its
/// seed from the run seed and its name.</remarks>
internal static class TestSeeds
{
    private static readonly Lazy<int> Run = new(() =>
        int.TryParse(Environment.GetEnvironmentVariable("NV_TEST_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pinned)
            ? pinned
            : Random.Shared.Next(1, int.MaxValue));

    /// <summary>Whether <c>NV_TEST_SEED</c> pins the seed.</summary>
    public static bool Pinned => Environment.GetEnvironmentVariable("NV_TEST_SEED") is { Length: > 0 };

    /// <summary>The seed of one case: the pinned seed itself, or a fresh one per run.</summary>
    public static int For(string testCase, int index = 0)
    {
        if (Pinned)
        {
            return Run.Value;
        }

        // A stable mix of the run seed and the case (string.GetHashCode is randomized per process, which is fine here, but
        // an explicit mix keeps the derivation readable).
        var hash = Run.Value;
        foreach (var c in testCase)
        {
            hash = unchecked((hash * 31) + c);
        }

        return unchecked((hash * 7919) + index) & int.MaxValue;
    }

    public static string Describe(int seed) => $"seed {seed} (rerun with NV_TEST_SEED={seed})";
}
