namespace Nv.DbWriter;

/// <summary>Why a writer cannot store a payload (see <see cref="IDbWriter.CheckStorable"/>).</summary>
/// <param name="Path">Where in the payload, as a JSON pointer (<c>/a/b</c>), or empty for the whole payload.</param>
/// <param name="Reason">What is wrong, for the caller (one line, no secrets).</param>
/// <param name="IsTooLarge">True when the payload exceeds a size limit (HTTP 413), false for a value the store cannot hold (400).</param>
public sealed record DbWriterRefusal(string Path, string Reason, bool IsTooLarge);
