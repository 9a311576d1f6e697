using Nv.Audit.Diff;
using static Nv.Unit.Tests.Audit.AuditTestData;

namespace Nv.Unit.Tests.Audit;

public sealed class JsonDiffTests
{
    private static string Show(IReadOnlyList<Nv.Audit.FieldChange> changes) =>
        string.Join(" | ", changes.Select(c => $"{c.Path}:{c.Before?.GetRawText() ?? "-"}->{c.After?.GetRawText() ?? "-"}"));

    [Fact]
    public void Equal_documents_have_no_changes()
    {
        Assert.Empty(JsonDiff.Compute(Json("""{"a":1,"b":{"c":[1,2]}}"""), Json("""{"b":{"c":[1,2]},"a":1}""")));
    }

    [Fact]
    public void Both_sides_null_have_no_changes()
    {
        Assert.Empty(JsonDiff.Compute(null, null));
    }

    [Fact]
    public void Nested_objects_are_recursed_and_sorted_by_path()
    {
        var changes = JsonDiff.Compute(
            Json("""{"z":1,"address":{"city":"Oslo","zip":"0150"},"name":"a"}"""),
            Json("""{"z":2,"address":{"city":"Bergen","zip":"0150","street":"x"},"name":"a"}"""));
        Assert.Equal("""/address/city:"Oslo"->"Bergen" | /address/street:-->"x" | /z:1->2""", Show(changes));
    }

    [Fact]
    public void Added_and_removed_fields_have_one_side_absent()
    {
        var changes = JsonDiff.Compute(Json("""{"old":true,"n":null}"""), Json("""{"new":false,"n":null}"""));
        Assert.Equal("/new:-->false | /old:true->-", Show(changes));
    }

    [Fact]
    public void A_field_set_to_json_null_is_a_change_not_a_removal()
    {
        var change = Assert.Single(JsonDiff.Compute(Json("""{"a":1}"""), Json("""{"a":null}""")));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, change.After!.Value.ValueKind);
    }

    [Fact]
    public void Arrays_are_compared_as_whole_values()
    {
        var changes = JsonDiff.Compute(Json("""{"tags":[1,{"x":1}]}"""), Json("""{"tags":[1,{"x":2}]}"""));
        Assert.Equal("""/tags:[1,{"x":1}]->[1,{"x":2}]""", Show(changes));
    }

    [Fact]
    public void Type_change_from_object_to_scalar_is_one_change()
    {
        var changes = JsonDiff.Compute(Json("""{"a":{"b":1}}"""), Json("""{"a":"flat"}"""));
        Assert.Equal("""/a:{"b":1}->"flat" """.TrimEnd(), Show(changes));
    }

    [Fact]
    public void Slash_and_tilde_in_names_are_escaped()
    {
        var changes = JsonDiff.Compute(Json("""{"a/b":1,"m~n":{"x/y~":1}}"""), Json("""{"a/b":2,"m~n":{"x/y~":2}}"""));
        Assert.Equal("/a~1b:1->2 | /m~0n/x~1y~0:1->2", Show(changes));
    }

    [Fact]
    public void Null_before_adds_every_field()
    {
        var changes = JsonDiff.Compute(null, Json("""{"b":{"c":1},"a":1}"""));
        Assert.Equal("""/a:-->1 | /b:-->{"c":1}""", Show(changes));
    }

    [Fact]
    public void Null_after_removes_every_field()
    {
        var changes = JsonDiff.Compute(Json("""{"b":2,"a":1}"""), null);
        Assert.Equal("/a:1->- | /b:2->-", Show(changes));
    }

    [Fact]
    public void Values_outlive_their_source_document()
    {
        IReadOnlyList<Nv.Audit.FieldChange> changes;
        using (var before = System.Text.Json.JsonDocument.Parse("""{"a":1}"""))
        using (var after = System.Text.Json.JsonDocument.Parse("""{"a":2}"""))
        {
            changes = JsonDiff.Compute(before.RootElement, after.RootElement);
        }

        Assert.Equal("/a:1->2", Show(changes));
    }
}
