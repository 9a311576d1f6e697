namespace Nv.Smoke.Tests.Support;

/// <summary>One entity write the test sent over HTTP, with everything the oracle needs to predict its WAL record and audit
/// entry: the method, target, body, who, why, metadata and precondition.</summary>
internal sealed record SentWrite(
    string RequestId, string Method, string DtoType, string EntityId, string? Body, string? UserId, string? Reason,
    IReadOnlyDictionary<string, string> Metadata, long? IfMatch)
{
    /// <summary>The WAL operation: POST creates, DELETE deletes, PUT and PATCH update.</summary>
    public string Operation => Method switch
    {
        "POST" => "create",
        "DELETE" => "delete",
        _ => "update",
    };

    public bool IsPatch => Method == "PATCH";
}
