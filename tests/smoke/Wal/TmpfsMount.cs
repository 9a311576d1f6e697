namespace Nv.Smoke.Tests.Wal;

/// <summary>A tmpfs of a given size mounted on a fresh directory; unmounted and removed on dispose.</summary>
internal sealed class TmpfsMount : IDisposable
{
    private bool _mounted;

    private TmpfsMount(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>Why mounting failed (the test skips with it), or null.</summary>
    public string? Problem { get; private set; }

    public static TmpfsMount Create(string size)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nv-tmpfs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        var mount = new TmpfsMount(path);
        var (exit, output) = FaultTools.Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", path);
        if (exit == 0)
        {
            mount._mounted = true;
        }
        else
        {
            mount.Problem = $"cannot mount a {size} tmpfs on {path} (exit {exit}: {output.Trim()})";
        }

        return mount;
    }

    public void Dispose()
    {
        if (_mounted)
        {
            var (exit, _) = FaultTools.Run("umount", Path);
            if (exit != 0)
            {
                FaultTools.Run("umount", "-l", Path);
            }
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
