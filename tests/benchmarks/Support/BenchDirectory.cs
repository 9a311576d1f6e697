namespace Nv.Benchmarks.Support;

/// <summary>A fresh directory on the same disk as the repository (not tmpfs), deleted on dispose unless
/// <c>NV_BENCH_KEEP=1</c> (to look at what a run left: table sizes, file sizes).</summary>
internal sealed class BenchDirectory : IDisposable
{
    public BenchDirectory(string name)
    {
        var root = Environment.GetEnvironmentVariable("NV_BENCH_DIR") ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nv-bench");
        Path = System.IO.Path.Combine(root, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("NV_BENCH_KEEP") == "1")
        {
            Console.Error.WriteLine($"kept {Path}");
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
