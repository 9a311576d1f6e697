using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Wal.Protection;

namespace Nv.Host.Protection;

/// <summary>The start check of encryption at rest: the master key is readable and is the one the stored data keys were
/// wrapped with (or, with encryption off, the store holds no keys).</summary>
public static class EncryptionStartup
{
    /// <summary>Why Nv must not start, in one line, or null. Opens the database writer's store (not the WAL).</summary>
    /// <param name="services">The built host's services (after <c>AddNv</c>).</param>
    public static string? Check(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        try
        {
            _ = services.GetRequiredService<IOptions<EncryptionOptions>>().Value;
            var ring = services.GetRequiredService<KeyRing>();
            var writer = services.GetRequiredService<IDbWriter>();
            writer.InitializeAsync().GetAwaiter().GetResult();
            ring.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
            return null;
        }
        catch (MasterKeyException ex)
        {
            return ex.Message.ReplaceLineEndings(" ");
        }
        catch (OptionsValidationException ex)
        {
            return ex.Message.ReplaceLineEndings(" ");
        }
    }

    /// <summary>Why <see cref="IWritePipeline.EraseAsync"/> would refuse <paramref name="request"/> before writing anything, in
    /// one line, or null: the same checks (encryption at rest is on, the type is a subject of its own, a reason is given, the
    /// rules every write follows, and the type is not another spelling of a stored one), for a tool that checks before it
    /// starts the host. Opens no store: the spelling is checked by reading the entity store's table names
    /// (<see cref="IDbWriter.CheckDtoType"/> before <see cref="IDbWriter.InitializeAsync"/>), which creates or changes no file.</summary>
    /// <param name="services">The built host's services (after <c>AddNv</c>).</param>
    /// <param name="request">The erasure.</param>
    public static string? CheckErasure(IServiceProvider services, EraseRequest request)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            WritePipeline.CheckErasure(services.GetRequiredService<KeyRing>(), request);
            new RequestValidator(services.GetRequiredService<IOptions<PipelineOptions>>().Value).Validate(WritePipeline.ToWriteRequest(request));
            if (services.GetRequiredService<IDbWriter>().CheckDtoType(request.DtoType) is { } otherSpelling)
            {
                // As the pipeline refuses it. One difference: the pipeline answers a retry whose request id already has an
                // outcome (an erasure written before the other spelling was stored) with that outcome; telling a retry apart
                // needs the store's request outcomes, so here it is refused too.
                throw new WriteValidationException("dtoType", otherSpelling.Reason);
            }

            return null;
        }
        catch (WriteValidationException ex)
        {
            return ex.Message.ReplaceLineEndings(" ");
        }
    }

    /// <summary>For operator tools that read stored data (audit query, history): the data keys when encryption at rest is
    /// configured (master key checked against the store), or null when it is not, so sealed data is shown as ciphertext.</summary>
    /// <param name="services">The built host's services (after <c>AddNv</c>).</param>
    /// <param name="cancellationToken">Cancels opening the store.</param>
    /// <exception cref="MasterKeyException">The master key is unreadable or is not the one the stored keys are wrapped with.</exception>
    public static async Task<IDataKeyProvider?> OpenKeysAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        var ring = services.GetRequiredService<KeyRing>();
        if (!ring.Enabled)
        {
            return null;
        }

        await services.GetRequiredService<IDbWriter>().InitializeAsync(cancellationToken);
        await ring.OpenAsync(cancellationToken);
        return ring;
    }
}
