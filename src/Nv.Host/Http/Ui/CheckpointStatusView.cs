namespace Nv.Host.Http.Ui;

/// <summary>A signed checkpoint's tree size, time and key id, in <c>GET /v1/ops/status</c>.</summary>
internal sealed record CheckpointStatusView(long Size, DateTimeOffset Time, string KeyId);
