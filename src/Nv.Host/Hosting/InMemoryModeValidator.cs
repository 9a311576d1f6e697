using Microsoft.Extensions.Options;
using Nv.Host.Pipeline;

namespace Nv.Host.Hosting;

/// <summary>Refuses to start when <c>Nv:Pipeline:InMemory</c> says "in memory" but the stores registered by <c>AddNv</c> are the
/// durable ones (or the other way round): the stores are chosen when <c>AddNv</c> runs, so configuration alone cannot switch
/// them, and a host that claims one mode while running the other must not start.</summary>
internal sealed class InMemoryModeValidator(InMemoryStores.Selection selection) : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions options) => options.InMemory == selection.InMemory
        ? ValidateOptionsResult.Success
        : ValidateOptionsResult.Fail(options.InMemory
            ? "Nv:Pipeline:InMemory is set, but the durable stores were registered: the stores are chosen when AddNv is called, so use AddNv(o => o.UseInMemory())."
            : "AddNv(o => o.UseInMemory()) registered the in-memory stores, but the options say Nv:Pipeline:InMemory=false.");
}
