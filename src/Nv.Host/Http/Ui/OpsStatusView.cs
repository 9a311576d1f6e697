namespace Nv.Host.Http.Ui;

/// <summary>What <c>GET /v1/ops/status</c> answers: the WAL's positions and their lags, and each audit chain's size and
/// last signed checkpoint, read at <see cref="Time"/>.</summary>
/// <param name="Time">When the figures were read (a client derives rates from two readings).</param>
/// <param name="Ready">Whether the host accepts writes (boot replay done, WAL not faulted).</param>
/// <param name="Wal">The WAL's state, size and positions, as <c>GET /v1/ops/wal</c>.</param>
/// <param name="ApplyLag">Durable records the database does not reflect yet (durable − applied).</param>
/// <param name="AuditLag">Applied records without their audit entry yet (applied − audited).</param>
/// <param name="Chains">The audit chains this host writes.</param>
internal sealed record OpsStatusView(
    DateTimeOffset Time, bool Ready, WalStatusView Wal, long ApplyLag, long AuditLag, IReadOnlyList<ChainStatusView> Chains);
