using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // The last step before the WAL append, after the request is validated: numbers take their one canonical form (so
    // the WAL, every writer and the audit hash see the same text), and the configured writer checks it can store the
    // payload. What it cannot store is refused here (400/413, nothing written) rather than rejected after it is durable.
    private WriteRequest PrepareForWal(WriteRequest request)
    {
        if (request.Operation is WalOperation.Create or WalOperation.Update or WalOperation.Delete
            && _db.CheckDtoType(request.DtoType) is { } otherSpelling)
        {
            throw new WriteValidationException("dtoType", otherSpelling.Reason);
        }

        if (request.Operation == WalOperation.Delete)
        {
            return request with { Payload = EmptyObject };
        }

        if (request.Operation == WalOperation.Erase)
        {
            return request with { Payload = null }; // an erasure carries no data
        }

        var payload = JsonNumbers.Normalize(request.Payload!.Value);
        if (_db.CheckStorable(request.DtoType, payload) is { } refusal)
        {
            throw new WriteValidationException("payload" + refusal.Path, refusal.Reason, refusal.IsTooLarge);
        }

        return request with { Payload = payload };
    }
}
