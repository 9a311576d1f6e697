namespace Nv.Wal;

/// <summary>A record is too large for the log (<see cref="WalOptions.MaxRecordBytes"/>, or one log page): it was refused
/// before anything was written, and the log is untouched and still open.</summary>
/// <remarks>A refusal of one record, never a log failure: callers answer that request (HTTP 413) and carry on. It derives
/// from <see cref="ArgumentException"/> because the record itself is the bad argument.</remarks>
public sealed class WalRecordTooLargeException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public WalRecordTooLargeException(long sizeBytes, long maxBytes)
        : base($"The record is {sizeBytes} bytes serialized; the write-ahead log takes at most {maxBytes} (Nv:Wal:MaxRecordBytes).", "record")
    {
        SizeBytes = sizeBytes;
        MaxBytes = maxBytes;
    }

    /// <summary>The record's serialized body size.</summary>
    public long SizeBytes { get; }

    /// <summary>The largest body the log takes.</summary>
    public long MaxBytes { get; }
}
