namespace Nv.Host.Http.Ui;

/// <summary>One audit chain in <c>GET /v1/ops/status</c>.</summary>
/// <param name="Chain">The chain id (the service).</param>
/// <param name="Size">Entries in the chain (the highest sequence among its newest entries); null when the store could not be read.</param>
/// <param name="LastCheckpoint">The newest signed checkpoint, or null (none yet, or the store keeps no checkpoints).</param>
/// <param name="UncheckpointedEntries">Entries added since that checkpoint.</param>
/// <param name="Error">Why the store could not be read, or null.</param>
internal sealed record ChainStatusView(
    string Chain, long? Size, CheckpointStatusView? LastCheckpoint, long? UncheckpointedEntries, string? Error);
