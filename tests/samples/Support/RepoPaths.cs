namespace Nv.Samples.Tests.Support;

/// <summary>Finds the repository and the built sample (same configuration as the tests).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string OrdersDll { get; } = Path.Combine(Root, "samples", "Orders", "bin", Configuration, "net10.0", "Orders.dll");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Nv.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Nv.sln not found above " + AppContext.BaseDirectory);
    }
}
