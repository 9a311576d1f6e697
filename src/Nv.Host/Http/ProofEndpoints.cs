using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nv.Audit;

namespace Nv.Host.Http;

/// <summary>Merkle proofs and signed checkpoints under <c>/v1/audit</c> (role <c>auditor</c>): an entry's inclusion proof,
/// a consistency proof between two tree sizes of a chain, and a chain's latest signed checkpoint. Hashes are lowercase
/// hex; checkpoints are their exact signed text (verifiable offline, see docs/audit-merkle.md).</summary>
internal static class ProofEndpoints
{
    public static IEndpointRouteBuilder MapProofEndpoints(this IEndpointRouteBuilder app)
    {
        var group = AuditEndpoints.MapGroup(app);
        group.MapGet("/entries/{id}/proof", InclusionAsync);
        group.MapGet("/chains/{chain}/consistency", ConsistencyAsync);
        group.MapGet("/chains/{chain}/checkpoint", CheckpointAsync);
        return app;
    }

    private static async Task<IResult> InclusionAsync(HttpContext context, string id, IAuditProofs proofs)
    {
        if (!Guid.TryParse(id, out var entryId))
        {
            return Problems.Validation(context, "The entry id must be a UUID.", "id");
        }

        if (!TryReadLong(context, "treeSize", out var treeSize, out var error))
        {
            return error!;
        }

        try
        {
            var proof = await AuditStoreRead.RunAsync(() => proofs.GetInclusionProofAsync(entryId, treeSize, context.RequestAborted));
            if (proof is null)
            {
                return Problems.NotFound(context, $"No audit entry has id {entryId}.");
            }

            return Results.Ok(new
            {
                entryId = proof.Entry.Id,
                chain = proof.Chain,
                sequence = proof.Entry.Sequence,
                leafIndex = proof.LeafIndex,
                treeSize = proof.TreeSize,
                leafHash = proof.LeafHash.ToHex(),
                path = proof.Path.Path.Select(h => h.ToHex()).ToArray(),
                root = proof.Root.ToHex(),
                checkpoint = proof.Checkpoint?.ToText(),
            });
        }
        catch (ArgumentOutOfRangeException)
        {
            // The store's own text is .NET's ("Parameter 'treeSize' ... Actual value was ..."): say what is allowed instead.
            return Problems.Validation(context,
                "treeSize must be a size of the entry's chain that includes the entry: at least its sequence number, at most the chain's current size.",
                "treeSize");
        }
    }

    private static async Task<IResult> ConsistencyAsync(HttpContext context, string chain, IAuditProofs proofs)
    {
        if (!TryReadLong(context, "from", out var from, out var error) || !TryReadLong(context, "to", out var to, out error))
        {
            return error!;
        }

        if (from is null || to is null)
        {
            return Problems.Validation(context, "Both 'from' and 'to' tree sizes are required.", from is null ? "from" : "to");
        }

        try
        {
            var proof = await AuditStoreRead.RunAsync(() => proofs.GetConsistencyProofAsync(chain, from.Value, to.Value, context.RequestAborted));
            return Results.Ok(new
            {
                chain = proof.Chain,
                fromSize = from.Value,
                toSize = to.Value,
                fromRoot = proof.FromRoot.ToHex(),
                toRoot = proof.ToRoot.ToHex(),
                path = proof.Proof.Path.Select(h => h.ToHex()).ToArray(),
            });
        }
        catch (KeyNotFoundException)
        {
            return Problems.NotFound(context, $"Chain '{chain}' does not exist: the audit store holds no entry of it.");
        }
        catch (ArgumentException)
        {
            return Problems.Validation(context, "from and to must be tree sizes of the chain with from <= to <= the chain's current size.",
                from > to ? "from" : "to");
        }
    }

    private static async Task<IResult> CheckpointAsync(HttpContext context, string chain, IAuditProofs proofs)
    {
        var checkpoint = await AuditStoreRead.RunAsync(() => proofs.GetLatestCheckpointAsync(chain, context.RequestAborted));
        return checkpoint is null
            ? Problems.NotFound(context, $"Chain '{chain}' has no signed checkpoint yet.")
            : Results.Text(checkpoint.ToText(), "text/plain; charset=utf-8");
    }

    private static bool TryReadLong(HttpContext context, string name, out long? value, out IResult? error)
    {
        value = null;
        error = null;
        var raw = context.Request.Query[name].ToString();
        if (raw.Length == 0)
        {
            return true;
        }

        if (long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
            return true;
        }

        error = Problems.Validation(context, $"'{name}' must be a non-negative integer.", name);
        return false;
    }
}
