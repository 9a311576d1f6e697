using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.DependencyInjection;

namespace Nv.Integration.Tests.Http;

/// <summary>Wraps the app's registered <typeparamref name="T"/> so that chosen methods (by name) do what a test says
/// (fail with a given exception, wait for a gate) while every other call passes through to the real service: a proxy,
/// so the wrapper keeps up with the interface.</summary>
public class ServiceProxy<T> : DispatchProxy
    where T : class
{
    private Dictionary<string, Func<T, object?[], object?>> _overrides = [];

    /// <summary>The real service.</summary>
    internal T Inner { get; private set; } = null!;

    /// <summary>Replaces the last registration of <typeparamref name="T"/> with a proxy whose methods named in
    /// <paramref name="overrides"/> run the given function (with the real service and the arguments) instead.</summary>
    internal static void Install(IServiceCollection services, Dictionary<string, Func<T, object?[], object?>> overrides)
    {
        var registered = services.Last(d => d.ServiceType == typeof(T));
        services.Remove(registered);
        services.AddSingleton(sp =>
        {
            var inner = registered switch
            {
                { ImplementationFactory: { } factory } => (T)factory(sp),
                { ImplementationInstance: T instance } => instance,
                { ImplementationType: { } type } => (T)ActivatorUtilities.CreateInstance(sp, type),
                _ => throw new InvalidOperationException($"Unsupported {typeof(T).Name} registration."),
            };
            var proxy = Create<T, ServiceProxy<T>>();
            var self = (ServiceProxy<T>)(object)proxy;
            (self.Inner, self._overrides) = (inner, overrides);
            return proxy;
        });
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (_overrides.TryGetValue(targetMethod.Name, out var run))
        {
            return run(Inner, args ?? []);
        }

        try
        {
            return targetMethod.Invoke(Inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
