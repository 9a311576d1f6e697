using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nv.Cli.Hosting;
using Nv.Host.Pipeline;

namespace Nv.Cli.Commands;

/// <summary><c>nv erase --dto-type T --entity-id I --reason R</c>: starts the host (recovery + boot replay), erases one data
/// subject through the pipeline (crypto-shredding, see <see cref="IWritePipeline.EraseAsync"/>) and stops. Run while the
/// host is stopped; a running host takes <c>DELETE /v1/subjects/{dtoType}/{entityId}</c> instead.</summary>
internal static class EraseCommand
{
    public static void AddTo(RootCommand root)
    {
        var dtoType = new Option<string>("--dto-type") { Description = "The subject's type (an entity type, or a subject type a payload field names).", Required = true };
        var entityId = new Option<string>("--entity-id") { Description = "The subject's id.", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the audit trail; no personal data).", Required = true };
        var requestId = new Option<string?>("--request-id") { Description = "Idempotency key (default: a new one; rerun with the same id to retry)." };
        var user = new Option<string?>("--user") { Description = "Who asks (recorded in the audit trail).", DefaultValueFactory = _ => Environment.UserName };
        var command = new Command("erase",
            "Erase a data subject: destroy its data keys, delete its live entities, audit the erasure; every audit proof keeps verifying.")
        {
            dtoType, entityId, reason, requestId, user,
        };
        command.SetAction((parse, ct) => RunAsync(new EraseRequest
        {
            RequestId = parse.GetValue(requestId) ?? "erase-" + Guid.CreateVersion7().ToString("N"),
            DtoType = parse.GetValue(dtoType)!,
            EntityId = parse.GetValue(entityId)!,
            Reason = parse.GetValue(reason)!,
            UserId = parse.GetValue(user),
        }, ct));
        root.Subcommands.Add(command);
    }

    private static async Task<int> RunAsync(EraseRequest request, CancellationToken cancellationToken)
    {
        var host = NvHostFactory.CreateHost([], AuditStore.HostKeyIfAvailable); // signs only with the host's key, or not at all
        await using var scope = (IAsyncDisposable)host;
        try
        {
            // An erasure on a mistyped data directory would create empty stores there and confirm "erased" while the
            // subject's data stays where it is.
            ExistingData.RequireAny(host.Services);
            // Before anything is opened: starting the host would run boot replay, record service-start audit entries and,
            // at stop, sign checkpoints and save watermarks, all for an erasure the pipeline then refuses.
            if ((Nv.Host.Protection.EncryptionStartup.CheckErasure(host.Services, request)
                    ?? Nv.Host.Protection.EncryptionStartup.Check(host.Services)) is { } refusal)
            {
                Console.Error.WriteLine("nv: error: " + refusal);
                return ExitCodes.Usage;
            }

            await host.StartAsync(cancellationToken);
            var pipeline = host.Services.GetRequiredService<IWritePipeline>();
            await pipeline.WhenReadyAsync(cancellationToken);
            WriteOutcome outcome;
            try
            {
                outcome = await pipeline.EraseAsync(request, cancellationToken);
            }
            catch (WriteValidationException ex)
            {
                Console.Error.WriteLine("nv: error: " + ex.Message);
                await host.StopAsync(cancellationToken);
                return ExitCodes.Usage;
            }

            await host.StopAsync(cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"erased {request.DtoType}/{request.EntityId}: {outcome.Status.ToString().ToLowerInvariant()} at lsn {outcome.Lsn.Value}{Counts(outcome)} (request {outcome.RequestId}{(outcome.IsReplay ? ", a retry" : "")})"));
            if (outcome.Detail is { } detail)
            {
                Console.Error.WriteLine("nv: warning: " + detail);
            }

            return outcome.Status == WriteStatus.Applied ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            return CommandErrors.Report(ex);
        }
    }

    // What the erasure destroyed (a retry prints the first attempt's counts): ", 1 data key destroyed, 1 entity deleted", or
    // ", nothing found to erase (0 data keys destroyed, 0 entities deleted)"; nothing when not applied.
    internal static string Counts(WriteOutcome outcome)
    {
        if (outcome.Erasure is not { } erasure)
        {
            return "";
        }

        var counts = string.Create(CultureInfo.InvariantCulture,
            $"{erasure.KeysDestroyed} data key{(erasure.KeysDestroyed == 1 ? "" : "s")} destroyed, {erasure.EntitiesDeleted} entit{(erasure.EntitiesDeleted == 1 ? "y" : "ies")} deleted");
        return erasure.FoundNothing ? $", nothing found to erase ({counts})" : ", " + counts;
    }
}
