using System.Globalization;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Sizes and seeds of the power-loss tests.</summary>
/// <remarks><c>NV_POWERLOSS_IMAGES=N</c> sets how many images each recorded run is cut into (CI: a few; the documented
/// full run: <c>NV_SMOKE_FULL=1</c>, which also means 60 per run unless N is given). <c>NV_TEST_SEED</c> pins the seed
/// (printed by every test and in every failure).</remarks>
internal static class PowerLossSettings
{
    public static bool Full => Environment.GetEnvironmentVariable("NV_SMOKE_FULL") == "1";

    public static int Images(int ci) =>
        int.TryParse(Environment.GetEnvironmentVariable("NV_POWERLOSS_IMAGES"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : Full ? 60 : ci;

    /// <summary>The plan of images for one recorded run: the end of the run with only durable changes and as a process
    /// crash leaves it, then random cut points (after the first acknowledgement; half of them on a sync, rename,
    /// create or unlink, where the durable state changes) with random policies.</summary>
    public static List<(int Cut, ImagePolicy Policy, int Seed)> Plan(FsModel model, Random random, int count)
    {
        var plan = new List<(int, ImagePolicy, int)>
        {
            (model.End, ImagePolicy.DurableOnly, random.Next()),
            (model.End, ImagePolicy.ProcessCrash, random.Next()),
        };
        var first = model.Acks.Count > 0 ? model.Acks[0].Position : 1;
        var pivots = model.Events.Where(e => e.Kind is "fsync" or "fdatasync" or "rename" or "create" or "unlink" && e.Exit >= first && e.Exit <= model.End)
            .Select(e => e.Exit).ToList();
        var policies = Enum.GetValues<ImagePolicy>();
        while (plan.Count < count)
        {
            var cut = pivots.Count > 0 && random.Next(2) == 0 ? pivots[random.Next(pivots.Count)] : random.Next(first, model.End + 1);
            plan.Add((cut, policies[random.Next(policies.Length)], random.Next()));
        }

        return plan;
    }
}
