using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Pipeline;

namespace Microsoft.Extensions.Hosting;

/// <summary>Adds Nv to a Generic Host or ASP.NET Core app builder: <c>builder.AddNv()</c>.</summary>
public static class NvHostApplicationBuilderExtensions
{
    /// <summary>The configuration section Nv reads: <c>Nv</c>.</summary>
    public const string SectionName = "Nv";

    /// <summary>Adds Nv (<see cref="IWritePipeline"/>, the stores, boot replay) configured from the builder's <c>Nv</c> section.</summary>
    /// <typeparam name="TBuilder">The builder type (<c>HostApplicationBuilder</c>, <c>WebApplicationBuilder</c>).</typeparam>
    /// <param name="builder">The app builder.</param>
    /// <param name="configure">Applied after the configuration.</param>
    /// <returns>The same builder.</returns>
    /// <remarks>Same as <c>builder.Services.AddNv(builder.Configuration.GetSection("Nv"), configure)</c>. Nv's own
    /// <c>NV_*</c> environment variables are not read unless the app adds them
    /// (<see cref="Nv.Host.Configuration.NvEnvironment.AddNvEnvironment"/>); the usual <c>Nv__DataDirectory</c> form works.</remarks>
    public static TBuilder AddNv<TBuilder>(this TBuilder builder, Action<PipelineOptions>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddNv(builder.Configuration.GetSection(SectionName), configure);
        return builder;
    }
}
