using System.Globalization;
using System.Text.Json;
using Nv.Host.Pipeline;
using Nv.Wal;

namespace Nv.Host.Protection;

/// <summary>Names the data subject of a write: <c>dtoType/entityId</c> (the entity itself), or the subject a payload field
/// names when <see cref="EncryptionOptions.Subjects"/> maps the dtoType.</summary>
internal sealed class SubjectResolver
{
    private readonly Dictionary<string, (string Type, string Field)> _rules = new(StringComparer.Ordinal);

    public SubjectResolver(EncryptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (dtoType, rule) in options.Subjects)
        {
            if (ParseRule(rule) is { } parsed)
            {
                _rules[dtoType] = parsed;
            }
        }
    }

    /// <summary>Whether any dtoType is mapped to another subject.</summary>
    public bool HasRules => _rules.Count > 0;

    /// <summary>The dtoTypes mapped to another subject.</summary>
    public IEnumerable<string> MappedTypes => _rules.Keys;

    /// <summary>Whether the subject of this dtoType's entities may be another entity (so a delete must look it up).</summary>
    public bool IsMapped(string dtoType) => _rules.ContainsKey(dtoType);

    /// <summary>The subject type and payload field a mapped dtoType's entities are sealed under, or null.</summary>
    public (string Type, string Field)? RuleFor(string dtoType) => _rules.TryGetValue(dtoType, out var rule) ? rule : null;

    public static string Of(string dtoType, string entityId) => dtoType + "/" + entityId;

    /// <summary>The subject of a create or update (a delete's is looked up from the store: see <see cref="IsMapped"/>).</summary>
    public string Resolve(string dtoType, string entityId, JsonElement? payload) => SubjectNamedBy(dtoType, payload) ?? Of(dtoType, entityId);

    /// <summary>The subject a mapped dtoType's field names in <paramref name="image"/>, or null (the type is not mapped, or
    /// the field is missing, not a string or number, or not a valid entity id).</summary>
    public string? SubjectNamedBy(string dtoType, JsonElement? image) =>
        _rules.TryGetValue(dtoType, out var rule) && MappedId(rule.Field, image) is { } id ? Of(rule.Type, id) : null;

    /// <summary>Why a create or update of a mapped dtoType names no subject (its field missing, not a string or number, or
    /// not a valid entity id): the field and the problem; or null. Such a write is refused: sealed under the entity's own
    /// key instead, it would leave the entity mapped to its old subject, whose erasure would then delete it while its
    /// data stays readable.</summary>
    public (string Field, string Problem)? MissingSubject(string dtoType, JsonElement? payload) =>
        _rules.TryGetValue(dtoType, out var rule) && MappedId(rule.Field, payload) is null
            ? (rule.Field, $"names the data subject of {dtoType} entities (Nv:Encryption:Subjects:{dtoType} = {rule.Type}:{rule.Field}): it must be a string or number that is a valid entity id. Nothing was written.")
            : null;

    private static string? MappedId(string field, JsonElement? payload)
    {
        if (payload is not { ValueKind: JsonValueKind.Object } document || !document.TryGetProperty(field, out var value))
        {
            return null;
        }

        var id = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        return id is not null && RequestValidator.EntityIdProblem(id) is null ? id : null;
    }

    /// <summary>Parses <c>SubjectType:field</c>; null when malformed.</summary>
    public static (string Type, string Field)? ParseRule(string? rule)
    {
        var colon = rule?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (rule is null || colon <= 0 || colon == rule.Length - 1)
        {
            return null;
        }

        var type = rule[..colon];
        var field = rule[(colon + 1)..];
        return RequestValidator.IsValidDtoType(type) && field.Length <= RequestValidator.MaxKeyLength ? (type, field) : null;
    }

    /// <summary>The type part of a subject, or null when it has none.</summary>
    public static string? TypeOf(string subject)
    {
        var slash = subject.IndexOf('/', StringComparison.Ordinal);
        return slash <= 0 ? null : subject[..slash];
    }

    /// <summary>Splits a subject back into (type, id).</summary>
    public static (string DtoType, string EntityId) Split(string subject) => TypeOf(subject) is { } type
        ? (type, subject[(type.Length + 1)..])
        : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{subject}' is not a subject."));

    /// <summary>Whether a record with this operation carries a payload to seal.</summary>
    public static bool Seals(WalOperation operation) => operation is WalOperation.Create or WalOperation.Update or WalOperation.Delete;
}
