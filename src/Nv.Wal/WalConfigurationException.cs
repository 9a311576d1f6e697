namespace Nv.Wal;

/// <summary>The WAL on disk was created with settings that the current configuration contradicts (e.g. segment or
/// page size): opening it would misread every record, so it is refused before anything is read or written.</summary>
public sealed class WalConfigurationException : NvException
{
    /// <summary>Creates the exception.</summary>
    public WalConfigurationException(string message)
        : base(message)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
