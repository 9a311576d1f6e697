using Nv.Wal.IO;

namespace Nv.Cli.Commands;

/// <summary>A command's output directory (<c>--out DIR</c> of <c>nv audit archive</c> and <c>checkpoint</c>), made ready
/// before the command signs, records or writes anything: no file at or above it, created if missing (durably: an archive
/// recorded in the store must not lose its directory to a power cut), and shown writable by creating and deleting a probe
/// file in it, which is the only check that also holds for root, read-only mounts and special file systems. Otherwise
/// <see cref="BadInputException"/> (exit 2, one line), and a directory it created is removed again.</summary>
/// <remarks>Disposed at the command's end: a directory this created that is still empty (nothing was old enough to
/// archive, or the command failed before it wrote) is removed, so a run that wrote nothing leaves nothing.</remarks>
internal sealed class OutputDirectory : IDisposable
{
    private readonly string? _created; // the topmost directory Prepare created, or null when it existed

    private OutputDirectory(string path, string? created)
    {
        Path = path;
        _created = created;
    }

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <summary>Checks, creates and probes <paramref name="path"/>; see the class summary.</summary>
    /// <param name="option">The option it was given with, for the message.</param>
    /// <param name="path">The directory as given.</param>
    public static OutputDirectory Prepare(string option, string path)
    {
        CommandInput.RequireOutputDirectory(option, path);
        var full = System.IO.Path.GetFullPath(path);
        string? created = null;
        if (!Directory.Exists(full))
        {
            created = full;
            for (var parent = System.IO.Path.GetDirectoryName(full); parent is not null && !Directory.Exists(parent);
                 parent = System.IO.Path.GetDirectoryName(parent))
            {
                created = parent;
            }

            try
            {
                DurableFile.SyncDirectory(full);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                RemoveIfEmpty(created);
                throw new BadInputException($"{option} {path} cannot be created: {ex.Message.ReplaceLineEndings(" ")}");
            }
        }

        if (CommandInput.WhyNotWritable(full) is { } why)
        {
            RemoveIfEmpty(created);
            throw new BadInputException($"{option} {path} is not writable: {why}");
        }

        return new OutputDirectory(full, created);
    }

    public void Dispose() => RemoveIfEmpty(_created);

    private static void RemoveIfEmpty(string? created)
    {
        try
        {
            if (created is not null && Directory.Exists(created)
                && !Directory.EnumerateFiles(created, "*", SearchOption.AllDirectories).Any())
            {
                Directory.Delete(created, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind, empty: harmless.
        }
    }
}
