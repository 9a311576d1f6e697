using Nv.Audit.Merkle;

namespace Nv.Cli.Commands;

/// <summary>Checks of the files, keys and output paths a command is given, made before it opens anything: bad input
/// is <see cref="BadInputException"/> (exit 2, one line on stderr, nothing written; see <see cref="CommandErrors"/>).</summary>
internal static class CommandInput
{
    /// <summary>Throws unless <paramref name="path"/> is an existing file (not a directory).</summary>
    public static void RequireFile(string option, string path)
    {
        if (Directory.Exists(path))
        {
            throw new BadInputException($"{option} {path} is a directory, not a file");
        }

        if (!File.Exists(path))
        {
            throw new BadInputException($"{option} {path} does not exist");
        }
    }

    /// <summary>Reads a PEM file that must hold at least one ECDSA P-256 public key (several blocks: several keys).</summary>
    public static string ReadPublicKeyPem(string option, string path)
    {
        var pem = ReadText(option, path);
        try
        {
            using var verifier = CheckpointVerifier.FromPublicKeyPem(pem);
        }
        catch (ArgumentException)
        {
            throw new BadInputException($"{option} {path} is not a PEM file holding an ECDSA P-256 public key");
        }

        return pem;
    }

    /// <summary>Reads a checkpoint file (<c>nv audit checkpoint --out</c>); its signature is checked by the command.</summary>
    public static SignedCheckpoint ReadCheckpoint(string option, string path)
    {
        RequireFile(option, path);
        try
        {
            return SignedCheckpoint.ReadFromFile(path);
        }
        catch (CheckpointFormatException ex)
        {
            throw new BadInputException($"{option} {path} is not a checkpoint file: {ex.Message.ReplaceLineEndings(" ")}");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{option} {path} cannot be read: {ex.Message.ReplaceLineEndings(" ")}");
        }
    }

    /// <summary>Throws unless <paramref name="path"/> is a directory or can be created as one: no file at it or above it.</summary>
    public static void RequireOutputDirectory(string option, string path)
    {
        for (var at = Path.GetFullPath(path); !string.IsNullOrEmpty(at); at = Path.GetDirectoryName(at))
        {
            if (Directory.Exists(at))
            {
                return;
            }

            if (File.Exists(at))
            {
                throw new BadInputException(at == Path.GetFullPath(path)
                    ? $"{option} {path} is a file, not a directory"
                    : $"{option} {path} cannot be created: {at} is a file");
            }
        }
    }

    /// <summary>Throws unless <paramref name="path"/> can be written as a file (<c>nv audit prove --checkpoint-out</c>): not
    /// blank, not a directory, in an existing, writable directory (created and deleted probe file: the only check that
    /// holds for root and special file systems too). An existing file is allowed: the command replaces it.</summary>
    public static void RequireOutputFile(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new BadInputException($"{option} must name a file");
        }

        if (Path.EndsInDirectorySeparator(path) || Directory.Exists(path))
        {
            throw new BadInputException($"{option} {path} is a directory; it needs a file name");
        }

        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        for (var at = directory; !string.IsNullOrEmpty(at); at = Path.GetDirectoryName(at))
        {
            if (File.Exists(at))
            {
                throw new BadInputException($"{option} {path} cannot be written: {at} is a file");
            }

            if (Directory.Exists(at))
            {
                if (at != directory)
                {
                    throw new BadInputException($"{option} {path} cannot be written: the directory {directory} does not exist");
                }

                break;
            }
        }

        if (Directory.Exists(full + ".tmp"))
        {
            throw new BadInputException($"{option} {path} cannot be written: {full}.tmp, where it is written first, is a directory");
        }

        if (WhyNotWritable(directory) is { } why)
        {
            throw new BadInputException($"{option} {path} cannot be written: {why}");
        }
    }

    /// <summary>Why no file can be created in the existing directory <paramref name="directory"/>, or null: a probe file is
    /// created there and deleted at once (nothing is left).</summary>
    public static string? WhyNotWritable(string directory)
    {
        try
        {
            var probe = Path.Combine(directory, ".nv-write-check-" + Guid.NewGuid().ToString("N"));
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"no file can be created in {directory} ({ex.Message.ReplaceLineEndings(" ")})";
        }
    }

    private static string ReadText(string option, string path)
    {
        RequireFile(option, path);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{option} {path} cannot be read: {ex.Message.ReplaceLineEndings(" ")}");
        }
    }
}
