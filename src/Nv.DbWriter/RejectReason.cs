namespace Nv.DbWriter;

/// <summary>Why a record was rejected.</summary>
public enum RejectReason
{
    /// <summary>Not rejected.</summary>
    None = 0,

    /// <summary>A create targeted an entity that already exists (and is not deleted).</summary>
    AlreadyExists = 1,

    /// <summary>An update or delete targeted an entity that does not exist (or is deleted).</summary>
    NotFound = 2,

    /// <summary>The record's expected LSN did not match the stored entity's LSN.</summary>
    PreconditionFailed = 3,

    /// <summary>The database cannot store this record, deterministically: a document or value beyond what the store can
    /// hold (size, nesting, a number it cannot represent exactly), or an entity slot holding a document Nv did not write.
    /// <see cref="ApplyResult.Error"/> says which; replay never retries it.</summary>
    Unstorable = 4,
}
