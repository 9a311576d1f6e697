using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Encryption at rest with a dtoType mapped to another data subject: a delete of an entity, or a custom audit event
/// about it that names no subject in its images, arrived while a create or update of that entity naming another subject
/// than the stored one is appended and not yet applied, so the subject it would be sealed under is not known yet.
/// Nothing was written (HTTP 409); retry shortly.</summary>
public sealed class SubjectPendingException : NvException
{
    /// <summary>Creates the exception.</summary>
    public SubjectPendingException(string dtoType, string entityId)
        : base($"{dtoType} {entityId} has a write that is not applied yet and may change the data subject it is sealed under "
            + $"(Nv:Encryption:Subjects:{dtoType}), so this request cannot be sealed under the right subject yet; nothing was written. Retry shortly.")
    {
        DtoType = dtoType;
        EntityId = entityId;
    }

    /// <summary>The entity's type.</summary>
    public string DtoType { get; }

    /// <summary>The entity's id.</summary>
    public string EntityId { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}
