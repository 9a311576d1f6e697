using Microsoft.Extensions.Options;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Checks at startup that the pipeline's payload and batch limits fit the WAL's record limit.</summary>
/// <remarks>Every payload the pipeline accepts must fit in one WAL record together with the record's other fields, or
/// a write the pipeline validated would reach the WAL and be refused there. The check allows for the largest ids
/// (<see cref="RequestValidator.MaxRecordOverheadBytes"/>); a reason and metadata are bounded too but can be large, so a
/// record that still does not fit is refused for that request alone (413, nothing written), never by faulting the WAL.</remarks>
internal sealed class PipelineLimitsValidator : IValidateOptions<PipelineOptions>
{
    private readonly IOptions<WalOptions> _wal;
    private readonly bool _sealing;

    public PipelineLimitsValidator(
        IOptions<WalOptions> wal, IOptions<Protection.EncryptionOptions>? encryption = null, Nv.Wal.Protection.IMasterKeyProvider? master = null)
    {
        _wal = wal;
        // Encryption at rest on: records also carry a key id, a seal and the subject.
        _sealing = master is not null || !string.IsNullOrWhiteSpace(encryption?.Value.MasterKeyFile);
    }

    public ValidateOptionsResult Validate(string? name, PipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var maxRecord = (long)_wal.Value.MaxRecordBytes;
        var failures = new List<string>();
        var overhead = RequestValidator.MaxRecordOverheadBytes(options, _sealing);
        if (options.MaxPayloadBytes + (long)overhead > maxRecord)
        {
            failures.Add(
                $"Nv:Pipeline:MaxPayloadBytes ({options.MaxPayloadBytes}) plus up to {overhead} bytes of record overhead (ids, replay key, " +
                $"fingerprint) does not fit Nv:Wal:MaxRecordBytes ({maxRecord}): lower Nv:Pipeline:MaxPayloadBytes to at most " +
                $"{Math.Max(0, maxRecord - overhead)} or raise Nv:Wal:MaxRecordBytes to at least {options.MaxPayloadBytes + (long)overhead} " +
                "(it must fit a WAL page: 2^Nv:Wal:PageSizeBits minus 64 bytes).");
        }

        // A batch is one WAL record, and MaxBatchBytes counts it whole as the WAL stores it (every item's ids, replay key
        // and, with encryption at rest, seal and subject: BatchValidator.EstimateBytes), so it must fit one record.
        if (options.MaxBatchBytes > maxRecord)
        {
            failures.Add(
                $"Nv:Pipeline:MaxBatchBytes ({options.MaxBatchBytes}) does not fit Nv:Wal:MaxRecordBytes ({maxRecord}): a batch is one WAL " +
                $"record, counted whole with every item's ids, replay key{(_sealing ? ", seal and subject" : "")}; lower " +
                $"Nv:Pipeline:MaxBatchBytes to at most {maxRecord} or raise Nv:Wal:MaxRecordBytes to at least {options.MaxBatchBytes} " +
                "(it must fit a WAL page: 2^Nv:Wal:PageSizeBits minus 64 bytes).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
