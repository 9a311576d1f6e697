namespace Nv.Host.Http.Ui;

/// <summary>What <c>GET /v1/ops/status</c> answers: the WAL's positions and their lags, and each audit chain's size and
/// last signed checkpoint, read at <see cref="Time"/>.</summary>
/// <param name="Time">When the figures were read (a client derives rates from two readings).</param>
/// <param name="Ready">Whether the host accepts writes (boot replay done, WAL not faulted).</param>
/// <param name="Wal">The WAL's state, size and positions, as <c>GET /v1/ops/wal</c> (its applied and audited watermarks are
/// the stores' last durable points).</param>
/// <param name="Applied">Every record at or below it is committed to the database (in memory, ahead of its durable point).</param>
/// <param name="Audited">Every applied record at or below it has its audit entry committed.</param>
/// <param name="ApplyLag">Durable records the database does not reflect yet (durable − applied).</param>
/// <param name="AuditLag">Applied records without their audit entry yet (applied − audited).</param>
/// <param name="Backpressure">Why new writes are being held back now, or null.</param>
/// <param name="Chains">The audit chains this host writes.</param>
internal sealed record OpsStatusView(
    DateTimeOffset Time, bool Ready, WalStatusView Wal, long Applied, long Audited, long ApplyLag, long AuditLag, string? Backpressure,
    IReadOnlyList<ChainStatusView> Chains);
