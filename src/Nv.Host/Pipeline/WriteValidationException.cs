using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>A write request was refused before anything was written.</summary>
public sealed class WriteValidationException : NvException
{
    /// <summary>Creates the exception.</summary>
    public WriteValidationException(string field, string message, bool isTooLarge = false)
        : base($"{field}: {message}")
    {
        Field = field;
        IsTooLarge = isTooLarge;
    }

    /// <summary>The offending field (e.g. <c>payload./a/b</c>, <c>entityId</c>).</summary>
    public string Field { get; }

    /// <summary>True when the request exceeded a size limit (HTTP 413 rather than 400).</summary>
    public bool IsTooLarge { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
