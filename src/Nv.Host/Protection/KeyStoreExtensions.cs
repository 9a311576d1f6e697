using Nv.DbWriter;

namespace Nv.Host.Protection;

/// <summary>Key store lookups through the database writer (both writers keep one).</summary>
internal static class KeyStoreExtensions
{
    /// <summary>The subject the entity was last written under (a payload field's subject), or the entity itself.</summary>
    public static async Task<string> FindEntitySubjectOrDefaultAsync(this IDbWriter writer, string dtoType, string entityId, CancellationToken cancellationToken) =>
        writer is IDataKeyStore store && await store.FindEntitySubjectAsync(dtoType, entityId, cancellationToken) is { } subject
            ? subject
            : SubjectResolver.Of(dtoType, entityId);
}
