using Nv.Smoke.Tests.Support;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Tests of the trace model: one file "f" holding "0000" before the run and given bytes after it, and the model of a
/// hand-written trace.</summary>
internal static class OneFileTrace
{
    /// <param name="dir">Where the snapshot, the live directory and the trace go.</param>
    /// <param name="onDisk">What "f" holds after the run.</param>
    /// <param name="lines">The trace, given the live directory's path and the file's.</param>
    public static (FsModel Model, string Live, string File) Build(TempDirectory dir, string onDisk, Func<string, string, string[]> lines)
    {
        var snapshot = Directory.CreateDirectory(Path.Combine(dir.Path, "snapshot")).FullName;
        var live = Directory.CreateDirectory(Path.Combine(dir.Path, "live")).FullName;
        File.WriteAllBytes(Path.Combine(snapshot, "f"), "0000"u8.ToArray());
        var file = Path.Combine(live, "f");
        File.WriteAllBytes(file, System.Text.Encoding.Latin1.GetBytes(onDisk)); // one byte per char, as the trace escapes them
        var trace = Path.Combine(dir.Path, "trace.txt");
        File.WriteAllLines(trace, lines(live, file));
        return (FsModel.Build(snapshot, live, trace, AckSource.StdoutLines), live, file);
    }
}
