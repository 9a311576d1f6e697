using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Nv.DbWriter;

namespace Nv.Integration.Tests.Http;

/// <summary>Wraps the app's <see cref="IDbWriter"/> so that reads of one entity, once done, wait until <see cref="Parties"/>
/// of them are: every concurrent PATCH then has read the same version, so exactly one can win. Every other call passes through
/// (a proxy, so the wrapper keeps up with the interface).</summary>
public class ReadBarrier : DispatchProxy
{
    private IDbWriter _inner = null!;
    private string _entityId = "";
    private int _arrived;
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many reads wait for each other.</summary>
    public int Parties { get; private set; }

    /// <summary>Replaces the registered writer with a barrier for reads of <paramref name="entityId"/>.</summary>
    internal static void Install(IServiceCollection services, string entityId, int parties)
    {
        var registered = services.Last(d => d.ServiceType == typeof(IDbWriter));
        services.Remove(registered);
        services.AddSingleton(sp =>
        {
            var inner = (IDbWriter)registered.ImplementationFactory!(sp);
            var proxy = Create<IDbWriter, ReadBarrier>();
            var barrier = (ReadBarrier)(object)proxy;
            (barrier._inner, barrier._entityId, barrier.Parties) = (inner, entityId, parties);
            return proxy;
        });
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(IDbWriter.GetAsync) && args is [_, string id, CancellationToken token] && id == _entityId)
        {
            return WaitThenGetAsync((string)args[0]!, id, token);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }

    // Reads first, then waits for the others: no write can land between the reads, so all see one version.
    private async Task<StoredEntity?> WaitThenGetAsync(string dtoType, string entityId, CancellationToken cancellationToken)
    {
        var entity = await _inner.GetAsync(dtoType, entityId, cancellationToken);
        if (Interlocked.Increment(ref _arrived) >= Parties)
        {
            _all.TrySetResult();
        }

        await _all.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return entity;
    }
}
