using Nv.Audit.Chain;

namespace Nv.Audit.Sqlite;

/// <summary>Verification: streams the whole table in chain order through <see cref="AuditChainVerifier"/>.</summary>
internal sealed partial class SqliteAuditSink
{
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default)
    {
        var verifier = new AuditChainVerifier();
        await using (var connection = await OpenReaderAsync(cancellationToken))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = SqliteAuditSchema.ScanChains;
            // One row at a time: memory stays flat however long the trail is.
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            const int positionOrdinal = 18;
            while (await reader.ReadAsync(cancellationToken))
            {
                AuditEntry entry;
                try
                {
                    entry = SqliteAuditRow.Read(reader);
                }
                catch (FormatException ex)
                {
                    var chain = reader.IsDBNull(2) ? "?" : reader.GetString(2);
                    var sequence = reader.IsDBNull(15) ? 0 : reader.GetInt64(15);
                    var broken = new AuditVerification
                    {
                        IsValid = false,
                        EntriesChecked = verifier.EntriesChecked + 1,
                        BrokenChain = chain,
                        BrokenSequence = sequence,
                        Reason = "entry edited: " + ex.Message,
                    };
                    Log.VerificationFailed(_logger, chain, sequence, broken.Reason);
                    return broken;
                }

                if (!verifier.Add(entry, reader.GetInt64(positionOrdinal)))
                {
                    break;
                }
            }
        }

        var result = verifier.ToResult();
        if (result.IsValid)
        {
            Log.VerificationPassed(_logger, result.EntriesChecked);
        }
        else
        {
            Log.VerificationFailed(_logger, result.BrokenChain!, result.BrokenSequence!.Value, result.Reason!);
        }

        return result;
    }
}
