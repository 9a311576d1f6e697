namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>What counts as an acknowledgement in the trace.</summary>
internal enum AckSource
{
    /// <summary>Lines starting with <c>ACK </c> written to standard output (the WAL child, <c>nv load</c>).</summary>
    StdoutLines,

    /// <summary>HTTP responses sent on a socket that name an LSN: each <c>{"requestId":"...",...,"lsn":N}</c> in the bytes sent.</summary>
    SocketRequestIds,
}
