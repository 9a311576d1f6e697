namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>An acknowledgement seen in the trace: <see cref="Text"/> (an ACK line or a request id) was handed to the
/// kernel for the caller at <see cref="Position"/> (the start of the write that carried it).</summary>
internal sealed record TraceAck(int Position, string Text);
