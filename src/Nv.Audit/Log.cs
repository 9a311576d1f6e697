using Microsoft.Extensions.Logging;

namespace Nv.Audit;

/// <summary>Source-generated log messages of Nv.Audit (event ids 3000–3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Audit store opened at {Path} (schema version {SchemaVersion})")]
    public static partial void StoreOpened(ILogger logger, string path, int schemaVersion);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Appended {Inserted} of {Count} audit entries ({Skipped} already stored)")]
    public static partial void BatchAppended(ILogger logger, int inserted, int count, int skipped);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug,
        Message = "Audit append of {Count} entries rolled back; chain heads will be reloaded from the store")]
    public static partial void AppendRolledBack(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Audit trail verified: {EntriesChecked} entries, every chain intact")]
    public static partial void VerificationPassed(ILogger logger, long entriesChecked);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error,
        Message = "Audit chain {Chain} is broken at sequence {Sequence}: {Reason}. The stored trail was altered; keep the file for investigation")]
    public static partial void VerificationFailed(ILogger logger, string chain, long sequence, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Audit store {Path} closed")]
    public static partial void StoreClosed(ILogger logger, string path);
}
