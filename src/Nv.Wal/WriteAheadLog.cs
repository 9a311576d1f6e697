using Microsoft.Extensions.Logging;

namespace Nv.Wal;

/// <summary>Opens a write-ahead log without dependency injection (tools, benchmarks, tests).</summary>
public static class WriteAheadLog
{
    /// <summary>Validates the options, opens (and recovers) the log in <see cref="WalOptions.Directory"/>.</summary>
    /// <remarks>Recovery runs synchronously before this returns; see <see cref="IWriteAheadLog.Recovery"/> for what it found.</remarks>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    /// <exception cref="WalCorruptionException">The log is damaged and <see cref="WalOptions.RecoveryMode"/> does not allow opening it.</exception>
    public static IWriteAheadLog Open(WalOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FasterWriteAheadLog(options, loggerFactory?.CreateLogger<FasterWriteAheadLog>());
    }

    /// <summary>Opens the log with the data keys its sealed payloads are written and read with (encryption at rest).</summary>
    /// <remarks>A record read whose key <paramref name="keys"/> does not hold (an erased subject, or null keys) has an
    /// undefined payload and <see cref="WalRecord.PayloadUnavailable"/> set; see <see cref="Open(WalOptions, ILoggerFactory?)"/>.</remarks>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid.</exception>
    /// <exception cref="WalCorruptionException">The log is damaged and <see cref="WalOptions.RecoveryMode"/> does not allow opening it.</exception>
    public static IWriteAheadLog Open(WalOptions options, ILoggerFactory? loggerFactory, Protection.IDataKeyProvider? keys)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FasterWriteAheadLog(options, loggerFactory?.CreateLogger<FasterWriteAheadLog>(), keys: keys);
    }

    /// <summary>Creates an empty log in process memory (the in-memory mode): the same contract and record format, and
    /// <b>nothing is durable</b> — every record is lost when the process ends.</summary>
    /// <remarks>For development and unit tests of services that embed Nv. Records larger than
    /// <see cref="WalOptions.MaxRecordBytes"/> are refused as on disk.</remarks>
    public static IWriteAheadLog CreateInMemory(WalOptions? options = null) =>
        new InMemory.InMemoryWriteAheadLog((options ?? new WalOptions()).MaxRecordBytes);
}
