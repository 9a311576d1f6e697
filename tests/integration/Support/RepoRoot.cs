namespace Nv.Integration.Tests.Support;

/// <summary>The repository's root directory (the one holding Nv.sln), found above the test binaries.</summary>
internal static class RepoRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Nv.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Nv.sln not found above " + AppContext.BaseDirectory);
    }
}
