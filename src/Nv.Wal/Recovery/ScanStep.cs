namespace Nv.Wal.Recovery;

/// <summary>What <see cref="LogScanner.Next"/> found.</summary>
internal enum ScanStep
{
    /// <summary>A valid Nv record.</summary>
    Record,

    /// <summary>The end of the scanned range (or of the data on disk, for an open-ended scan).</summary>
    End,

    /// <summary>Bytes that are neither a valid entry nor valid padding.</summary>
    Damage,

    /// <summary>A valid FasterLog commit record (only with <see cref="LogScanner.ReportCommitRecords"/>).</summary>
    Commit,
}
