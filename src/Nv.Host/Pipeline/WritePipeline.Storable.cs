using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // The last step before the WAL append, after the request is validated: numbers take their one canonical form (so
    // the WAL, every writer and the audit hash see the same text), and the configured writer checks it can store the
    // payload. What it cannot store is refused here (400/413, nothing written) rather than rejected after it is durable.
    // A dtoType spelled like a stored type in another case is not thrown but returned (OtherSpelling): the stored types
    // change over time, so a retry of a request stored under its id before the other spelling was (rejected at apply
    // as unstorable, say) would be refused here although its first outcome is known. The caller consults the outcomes
    // first (SubmitCheckedAsync).
    private (WriteRequest Request, WriteValidationException? OtherSpelling) PrepareForWal(WriteRequest request)
    {
        var otherSpelling = request.Operation is WalOperation.Create or WalOperation.Update or WalOperation.Delete or WalOperation.Erase
            && _db.CheckDtoType(request.DtoType) is { } refusal
            ? new WriteValidationException("dtoType", refusal.Reason) // an erasure too: subjects are case-sensitive, it would find no keys
            : null;

        if (request.Operation == WalOperation.Delete)
        {
            return (request with { Payload = EmptyObject }, otherSpelling);
        }

        if (request.Operation == WalOperation.Erase)
        {
            return (request with { Payload = null }, otherSpelling); // an erasure carries no data
        }

        var payload = JsonNumbers.Normalize(request.Payload!.Value);
        if (_db.CheckStorable(request.DtoType, payload) is { } unstorable)
        {
            // A request stored under its id passed this check when it was first written: this is no retry of one, and
            // the dtoType refusal keeps its precedence.
            throw otherSpelling ?? new WriteValidationException("payload" + unstorable.Path, unstorable.Reason, unstorable.IsTooLarge);
        }

        return (request with { Payload = payload }, otherSpelling);
    }

    // A write whose dtoType is another spelling of a stored type is refused (400, nothing written) unless its request id
    // is already known: then it is built as a retry only (PendingWrite.RetryOnly), answered with the id's first outcome
    // (or refused as another request under the id) and never appended; if the id's first attempt left no trace after
    // all, the refusal stands. A new request never gets past the check.
    private async Task<WriteOutcome> SubmitCheckedAsync(PendingWrite write, WriteValidationException? otherSpelling, CancellationToken cancellationToken)
    {
        if (otherSpelling is null)
        {
            return await SubmitAsync(write, cancellationToken);
        }

        if (!await IsKnownRequestAsync(write.Key, cancellationToken))
        {
            throw otherSpelling;
        }

        try
        {
            return await SubmitAsync(write, cancellationToken);
        }
        catch (UnknownRetryException)
        {
            throw otherSpelling;
        }
    }

    // Whether the request id has a first attempt: remembered in this process, or an outcome in the database.
    private async Task<bool> IsKnownRequestAsync(RequestKey key, CancellationToken cancellationToken) =>
        _requests.TryGet(key, out _) || (await _db.FindRequestsAsync([key], cancellationToken)).ContainsKey(key);
}
