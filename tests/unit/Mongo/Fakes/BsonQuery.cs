using MongoDB.Bson;

namespace Nv.Unit.Tests.Mongo.Fakes;

/// <summary>Evaluates the subset of MongoDB's query and update language the fake server understands.</summary>
internal static class BsonQuery
{
    public static bool Matches(BsonDocument document, BsonDocument filter)
    {
        foreach (var element in filter)
        {
            var ok = element.Name switch
            {
                "$and" => element.Value.AsBsonArray.All(f => Matches(document, f.AsBsonDocument)),
                "$or" => element.Value.AsBsonArray.Any(f => Matches(document, f.AsBsonDocument)),
                _ => MatchesField(Get(document, element.Name), element.Value),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool MatchesField(BsonValue? actual, BsonValue condition)
    {
        if (condition is BsonDocument operators && operators.ElementCount > 0 && operators.GetElement(0).Name.StartsWith('$'))
        {
            foreach (var op in operators)
            {
                var ok = op.Name switch
                {
                    "$eq" => actual is not null && Compare(actual, op.Value) == 0,
                    "$ne" => actual is null || Compare(actual, op.Value) != 0,
                    "$lt" => actual is not null && Comparable(actual, op.Value) && Compare(actual, op.Value) < 0,
                    "$lte" => actual is not null && Comparable(actual, op.Value) && Compare(actual, op.Value) <= 0,
                    "$gt" => actual is not null && Comparable(actual, op.Value) && Compare(actual, op.Value) > 0,
                    "$gte" => actual is not null && Comparable(actual, op.Value) && Compare(actual, op.Value) >= 0,
                    "$in" => actual is not null && op.Value.AsBsonArray.Any(v => Compare(actual, v) == 0),
                    "$exists" => (actual is not null) == op.Value.ToBoolean(),
                    _ => throw new NotSupportedException($"The fake server does not know {op.Name}."),
                };
                if (!ok)
                {
                    return false;
                }
            }

            return true;
        }

        return actual is not null && Compare(actual, condition) == 0;
    }

    private static bool Comparable(BsonValue a, BsonValue b) => (a.IsNumeric && b.IsNumeric) || a.BsonType == b.BsonType;

    public static int Compare(BsonValue a, BsonValue b)
    {
        if (a.IsNumeric && b.IsNumeric)
        {
            return a.ToDecimal().CompareTo(b.ToDecimal());
        }

        if (a is BsonString x && b is BsonString y)
        {
            return string.CompareOrdinal(x.Value, y.Value);
        }

        return a.CompareTo(b);
    }

    /// <summary>The value at a dotted path, or null when any part is missing or not a document.</summary>
    public static BsonValue? Get(BsonDocument document, string path)
    {
        BsonValue current = document;
        foreach (var part in path.Split('.'))
        {
            if (current is not BsonDocument d || !d.TryGetValue(part, out current!))
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>Applies an update document; throws <see cref="FakeWriteError"/> (28, PathNotViable) when a path crosses a
    /// non-document, as the server does.</summary>
    public static void Update(BsonDocument document, BsonDocument update, bool inserting)
    {
        foreach (var op in update)
        {
            foreach (var field in op.Value.AsBsonDocument)
            {
                switch (op.Name)
                {
                    case "$set":
                        Set(document, field.Name, field.Value);
                        break;
                    case "$setOnInsert":
                        if (inserting)
                        {
                            Set(document, field.Name, field.Value);
                        }

                        break;
                    case "$unset":
                        Unset(document, field.Name);
                        break;
                    case "$max":
                        if (Get(document, field.Name) is not { } current || Compare(field.Value, current) > 0)
                        {
                            Set(document, field.Name, field.Value);
                        }

                        break;
                    default:
                        throw new NotSupportedException($"The fake server does not know {op.Name}.");
                }
            }
        }
    }

    /// <summary>The document an upsert inserts: the filter's equality fields (dotted paths nested), _id first.</summary>
    public static BsonDocument Seed(BsonDocument filter)
    {
        var seed = new BsonDocument();
        if (filter.TryGetValue("_id", out var id)
            && (id is not BsonDocument d || d.ElementCount == 0 || !d.GetElement(0).Name.StartsWith('$')))
        {
            seed["_id"] = id;
        }

        foreach (var element in filter)
        {
            if (element.Name != "_id" && !element.Name.StartsWith('$') && element.Value is not BsonDocument { ElementCount: > 0 } ops)
            {
                Set(seed, element.Name, element.Value);
            }
            else if (element.Name != "_id" && element.Value is BsonDocument eq && eq.TryGetValue("$eq", out var value))
            {
                Set(seed, element.Name, value);
            }
        }

        return seed;
    }

    private static void Set(BsonDocument document, string path, BsonValue value)
    {
        var parts = path.Split('.');
        var current = document;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (!current.TryGetValue(parts[i], out var next))
            {
                next = new BsonDocument();
                current[parts[i]] = next;
            }
            else if (next is not BsonDocument)
            {
                throw new FakeWriteError(28, $"Cannot create field '{parts[i + 1]}' in element {{{parts[i]}: {next}}}");
            }

            current = next.AsBsonDocument;
        }

        current[parts[^1]] = value;
    }

    private static void Unset(BsonDocument document, string path)
    {
        var parts = path.Split('.');
        var current = document;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (!current.TryGetValue(parts[i], out var next) || next is not BsonDocument d)
            {
                return;
            }

            current = d;
        }

        current.Remove(parts[^1]);
    }

    public static IEnumerable<BsonDocument> Sort(IEnumerable<BsonDocument> documents, BsonDocument? sort)
    {
        if (sort is null || sort.ElementCount == 0)
        {
            return documents;
        }

        var list = documents.ToList();
        list.Sort((a, b) =>
        {
            foreach (var key in sort)
            {
                var x = Get(a, key.Name) ?? BsonNull.Value;
                var y = Get(b, key.Name) ?? BsonNull.Value;
                var c = Compare(x, y) * (key.Value.ToInt32() < 0 ? -1 : 1);
                if (c != 0)
                {
                    return c;
                }
            }

            return 0;
        });
        return list;
    }

    /// <summary>An inclusion projection (the only kind Nv uses); _id is kept unless excluded.</summary>
    public static BsonDocument Project(BsonDocument document, BsonDocument? projection)
    {
        if (projection is null || projection.ElementCount == 0)
        {
            return document;
        }

        var projected = new BsonDocument();
        if (!projection.TryGetValue("_id", out var id) || id.ToBoolean())
        {
            projected["_id"] = document["_id"];
        }

        foreach (var field in projection)
        {
            if (field.Name != "_id" && field.Value.ToBoolean() && Get(document, field.Name) is { } value)
            {
                Set(projected, field.Name, value);
            }
        }

        return projected;
    }
}
