using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The outcome of applying one WAL record.</summary>
public sealed record ApplyResult
{
    /// <summary>The record's LSN.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>Applied, already applied, rejected or transient.</summary>
    public required ApplyStatus Status { get; init; }

    /// <summary>Why it was rejected, when <see cref="Status"/> is <see cref="ApplyStatus.Rejected"/>.</summary>
    public RejectReason RejectReason { get; init; }

    /// <summary>The entity state before the write (null when it did not exist), read atomically with the write.</summary>
    public JsonElement? Before { get; init; }

    /// <summary>The entity state after the write (null for deletes).</summary>
    public JsonElement? After { get; init; }

    /// <summary>A human-readable reason for rejection or transient failure.</summary>
    public string? Error { get; init; }
}
