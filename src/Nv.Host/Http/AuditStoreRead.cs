using Nv.Host.Pipeline;

namespace Nv.Host.Http;

/// <summary>One read of the audit store by an HTTP endpoint: a failure of the store itself (unreachable, locked, failing)
/// becomes <see cref="AuditUnavailableException"/>, which <see cref="ErrorMiddleware"/> answers 503
/// <c>audit-unavailable</c> with <c>Retry-After</c> and without the store's message (it is logged with the request
/// id), instead of a 500 <c>internal</c>.</summary>
/// <remarks>What counts as a failure of the store is what the in-process audit queries count
/// (<see cref="AuditUnavailableException.IsStoreFailure"/>): the store's answers by contract (a bad cursor or tree size, an
/// unknown chain, a missing feature, a cancelled read) pass through to the endpoint that maps them.</remarks>
internal static class AuditStoreRead
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (AuditUnavailableException.IsStoreFailure(ex))
        {
            throw new AuditUnavailableException("The audit store could not answer: " + ex.Message, ex);
        }
    }
}
