namespace Nv.Wal;

/// <summary>A WAL file or record was written by a newer Nv, in a format (or with features) this build does not read: the
/// log is refused as it is, whatever <see cref="WalOptions.RecoveryMode"/> says. Nothing is cut, skipped or rewritten, so the
/// newer build can still open it.</summary>
/// <remarks>Reported only for data that passed its own integrity check (magic and CRC where the format has one): damaged
/// bytes stay damage (<see cref="WalCorruptionException"/>), and bytes a newer build wrote are never taken for damage.</remarks>
public sealed class WalFormatTooNewException : NvException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file holding the newer data.</param>
    /// <param name="found">What was found, e.g. "record format 3 (LSN 5 at offset 4096)".</param>
    /// <param name="supported">What this build reads, e.g. "record format 2".</param>
    public WalFormatTooNewException(string path, string found, string supported)
        : base($"'{path}' was written by a newer Nv ({found}); this build reads up to {supported}. Nothing was changed, whatever "
            + "Nv:Wal:RecoveryMode says: open this WAL with the Nv version that wrote it, or a later one.")
    {
        Path = path;
        Found = found;
        Supported = supported;
    }

    /// <summary>The file holding the newer data.</summary>
    public string Path { get; }

    /// <summary>The newer format or feature that was found.</summary>
    public string Found { get; }

    /// <summary>The newest format (or the features) this build reads.</summary>
    public string Supported { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
