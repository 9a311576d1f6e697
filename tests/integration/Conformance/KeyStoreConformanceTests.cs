using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Conformance;

/// <summary>What every database writer's key store must do for encryption at rest and erasure: store keys, assign a key to
/// its subject with the first record sealed with it, and carry out erase records (destroy the subject's keys, forget the
/// before images kept under them, tombstone its live entities) idempotently. Subclasses supply the store.</summary>
public abstract class KeyStoreConformanceTests : IAsyncLifetime
{
    private IDbWriter? _writer;

    protected IDbWriter Writer => _writer ?? throw new InvalidOperationException("Not initialized.");

    protected IDataKeyStore Keys => (IDataKeyStore)Writer;

    protected abstract Task<IDbWriter> OpenWriterAsync();

    public async ValueTask InitializeAsync()
    {
        _writer = await OpenWriterAsync();
        await _writer.InitializeAsync(Ct);
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }

        GC.SuppressFinalize(this);
    }

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected static StoredDataKey NewKey(string master = "mk-0011223344556677") => new()
    {
        KeyId = Guid.CreateVersion7(),
        MasterKeyId = master,
        WrappedKey = [1, 2, 3, 4, 5, 6, 7, 8],
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000),
    };

    [Fact]
    public async Task Keys_are_stored_found_by_id_and_counted_unassigned_until_a_record_names_them()
    {
        var a = NewKey();
        var b = NewKey();
        await Keys.AddKeysAsync([a, b], Ct);

        var found = await Keys.FindKeysAsync([a.KeyId, Guid.NewGuid()], Ct);
        var only = Assert.Single(found);
        Assert.Equal(a.KeyId, only.KeyId);
        Assert.Equal(a.WrappedKey, only.WrappedKey);
        Assert.Equal(a.MasterKeyId, only.MasterKeyId);
        Assert.Null(only.Subject);
        var stats = await Keys.GetKeyStatisticsAsync(Ct);
        Assert.Equal(2, stats.PoolKeys);
        Assert.Equal(0, stats.AssignedKeys);

        await Writer.ApplyAsync([Sealed(Create(1, "o-1", """{"n":1}"""), a.KeyId)], Ct);
        Assert.Equal("Order/o-1", Assert.Single(await Keys.FindKeysAsync([a.KeyId], Ct)).Subject);
        Assert.Equal(a.KeyId, Assert.Single(await Keys.FindSubjectKeysAsync(["Order/o-1"], Ct)).KeyId);
        stats = await Keys.GetKeyStatisticsAsync(Ct);
        Assert.Equal((1, 1, 1), (stats.AssignedKeys, stats.PoolKeys, stats.Subjects));

        Assert.Equal(1, await Keys.DeleteUnassignedKeysAsync(Ct));
        Assert.Empty(await Keys.FindKeysAsync([b.KeyId], Ct));
        Assert.Single(await Keys.FindKeysAsync([a.KeyId], Ct));
    }

    [Fact]
    public async Task A_batch_of_subjects_finds_the_keys_of_exactly_those_that_have_one_among_new_ones()
    {
        // The commit stage's lookup: mostly new subjects (SQLite probes its subject index first and reads only the hits).
        var a = NewKey();
        var b = NewKey();
        var unassigned = NewKey();
        await Keys.AddKeysAsync([a, b, unassigned], Ct);
        await Writer.ApplyAsync([Sealed(Create(1, "o-1", """{"n":1}"""), a.KeyId), Sealed(Create(2, "o-2", """{"n":2}"""), b.KeyId)], Ct);

        var found = await Keys.FindSubjectKeysAsync(["Order/new-1", "Order/o-2", "Order/new-2", "Order/o-1", "Order/new-3"], Ct);
        Assert.Equal(
            new[] { ("Order/o-1", a.KeyId), ("Order/o-2", b.KeyId) }.Order(),
            found.Select(k => (k.Subject!, k.KeyId)).Order());
        Assert.Empty(await Keys.FindSubjectKeysAsync(["Order/new-4", "Order/new-5"], Ct));
    }

    [Fact]
    public async Task A_sealed_audit_event_assigns_its_key_to_its_subject_maps_no_entity_and_is_reached_by_the_subjects_erasure()
    {
        var key = NewKey();
        await Keys.AddKeysAsync([key], Ct);
        var payload = Nv.Audit.AuditEvents.ToPayload(Nv.Audit.AuditCategory.Permission, "role-granted", null, Json("""{"role":"auditor"}"""));
        // An event about an order, sealed under the customer its image names (a subject that is not the entity itself).
        var sealedEvent = Sealed(Create(1, "o-17", "{}", requestId: "ev-1") with { Operation = WalOperation.AuditEvent, Payload = payload }, key.KeyId, "Customer/c-17")
            with { EventCategory = "permission", EventOperation = "role-granted" };
        Assert.Equal(ApplyStatus.Applied, Assert.Single(await Writer.ApplyAsync([sealedEvent], Ct)).Status);

        Assert.Equal("Customer/c-17", Assert.Single(await Keys.FindKeysAsync([key.KeyId], Ct)).Subject);
        Assert.Null(await Keys.FindEntitySubjectAsync("Order", "o-17", Ct)); // an event stores no entity, so maps none to a subject
        Assert.Null(await Writer.GetAsync("Order", "o-17", Ct));
        Assert.Equal(0, await Keys.DeleteUnassignedKeysAsync(Ct)); // a start's cleanup leaves it

        await Writer.ApplyAsync([Erase(2, "Customer", "c-17")], Ct);
        Assert.Empty(await Keys.FindKeysAsync([key.KeyId], Ct));
    }

    [Fact]
    public async Task A_rejected_record_still_assigns_its_key_and_the_first_record_wins()
    {
        var a = NewKey();
        var b = NewKey();
        await Keys.AddKeysAsync([a, b], Ct);
        await Writer.ApplyAsync([Sealed(Update(1, "missing", """{"n":1}"""), a.KeyId)], Ct); // rejected: not found
        Assert.Equal("Order/missing", Assert.Single(await Keys.FindKeysAsync([a.KeyId], Ct)).Subject);

        await Writer.ApplyAsync([Sealed(Create(2, "o-2", """{"n":2}"""), a.KeyId, "Order/other")], Ct);
        Assert.Equal("Order/missing", Assert.Single(await Keys.FindKeysAsync([a.KeyId], Ct)).Subject);
    }

    [Fact]
    public async Task An_erasure_destroys_the_subjects_keys_deletes_its_entity_forgets_before_images_and_leaves_others_alone()
    {
        var ada = NewKey();
        var bob = NewKey();
        await Keys.AddKeysAsync([ada, bob], Ct);
        await Writer.ApplyAsync(
        [
            Sealed(Create(1, "ada", """{"name":"Ada"}"""), ada.KeyId),
            Sealed(Update(2, "ada", """{"name":"Ada L."}"""), ada.KeyId),
            Sealed(Create(3, "bob", """{"name":"Bob"}"""), bob.KeyId),
            Sealed(Update(4, "bob", """{"name":"Bob B."}"""), bob.KeyId),
        ], Ct);
        Assert.NotNull((await Writer.GetResolutionsAsync(new Lsn(1), 1, Ct)).Single().Before);

        var results = await Writer.ApplyAsync([Erase(5, "Order", "ada")], Ct);
        Assert.Equal(ApplyStatus.Applied, results.Single().Status);
        Assert.Null(await Writer.GetAsync("Order", "ada", Ct));
        Assert.Empty(await Keys.FindKeysAsync([ada.KeyId], Ct));
        Assert.Empty(await Keys.FindSubjectKeysAsync(["Order/ada"], Ct));
        Assert.Null((await Writer.GetResolutionsAsync(new Lsn(1), 1, Ct)).Single().Before); // Ada's before image is forgotten

        Assert.NotNull(await Writer.GetAsync("Order", "bob", Ct));
        Assert.Single(await Keys.FindKeysAsync([bob.KeyId], Ct));
        Assert.NotNull((await Writer.GetResolutionsAsync(new Lsn(3), 1, Ct)).Single().Before); // Bob's is kept

        var erasure = Assert.Single(await Keys.GetErasuresAsync(10, Ct));
        Assert.Equal(("Order/ada", new Lsn(5), 1, 1), (erasure.Subject, erasure.Lsn, erasure.KeysDestroyed, erasure.EntitiesDeleted));
        Assert.Equal(1, (await Keys.GetKeyStatisticsAsync(Ct)).Erasures);
        Assert.Equal(new Lsn(5), await Writer.GetResolvedThroughAsync(Ct));
    }

    /// <summary>The erasure's answer reads its record by LSN (FindErasureAsync); one that found no key and no live entity
    /// (a mistyped id, an entity already deleted) is recorded with zero counts. On MongoDB the record counted the entity's
    /// collection, not the entity: a mistyped id of a stored type was recorded as one entity deleted.</summary>
    [Fact]
    public async Task An_erasure_that_finds_nothing_is_recorded_with_zero_counts_and_found_by_its_lsn()
    {
        var ada = NewKey();
        await Keys.AddKeysAsync([ada], Ct);
        await Writer.ApplyAsync([Sealed(Create(1, "ada", """{"name":"Ada"}"""), ada.KeyId), Create(2, "bob", "{}"), Delete(3, "bob")], Ct);

        await Writer.ApplyAsync([Erase(4, "Order", "adaa"), Erase(5, "Order", "bob"), Erase(6, "Order", "ada")], Ct);

        Assert.Equal(("Order/adaa", 0, 0, true), Counts(await Keys.FindErasureAsync(new Lsn(4), Ct)));
        Assert.Equal(("Order/bob", 0, 0, true), Counts(await Keys.FindErasureAsync(new Lsn(5), Ct))); // deleted before: nothing live
        Assert.Equal(("Order/ada", 1, 1, false), Counts(await Keys.FindErasureAsync(new Lsn(6), Ct)));
        Assert.Null(await Keys.FindErasureAsync(new Lsn(1), Ct)); // not an erasure
        Assert.Null(await Keys.FindErasureAsync(new Lsn(7), Ct));
        Assert.Null(await Writer.GetAsync("Order", "adaa", Ct)); // nothing was created either

        static (string, int, int, bool) Counts(SubjectErasure? e) => (e!.Subject, e.KeysDestroyed, e.EntitiesDeleted, e.FoundNothing);
    }

    [Fact]
    public async Task An_erasure_applied_again_changes_nothing_and_an_older_record_cannot_bring_the_entity_back()
    {
        var ada = NewKey();
        await Keys.AddKeysAsync([ada], Ct);
        await Writer.ApplyAsync([Sealed(Create(1, "ada", """{"name":"Ada"}"""), ada.KeyId)], Ct);
        await Writer.ApplyAsync([Erase(2, "Order", "ada")], Ct);

        var again = await Writer.ApplyAsync([Sealed(Create(1, "ada", """{"name":"Ada"}"""), ada.KeyId), Erase(2, "Order", "ada")], Ct);
        Assert.All(again, r => Assert.NotEqual(ApplyStatus.Applied, r.Status));
        Assert.Null(await Writer.GetAsync("Order", "ada", Ct));
        Assert.Single(await Keys.GetErasuresAsync(10, Ct));
    }

    [Fact]
    public async Task A_write_after_the_erasure_in_the_same_batch_survives_it_under_its_new_key()
    {
        var old = NewKey();
        var fresh = NewKey();
        await Keys.AddKeysAsync([old, fresh], Ct);
        await Writer.ApplyAsync([Sealed(Create(1, "ada", """{"v":1}"""), old.KeyId)], Ct);
        var results = await Writer.ApplyAsync([Erase(2, "Order", "ada"), Sealed(Create(3, "ada", """{"v":2}"""), fresh.KeyId)], Ct);

        Assert.Equal([ApplyStatus.Applied, ApplyStatus.Applied], results.Select(r => r.Status));
        var stored = await Writer.GetAsync("Order", "ada", Ct);
        Assert.Equal(2, stored!.Document.GetProperty("v").GetInt32());
        Assert.Empty(await Keys.FindKeysAsync([old.KeyId], Ct));
        Assert.Equal("Order/ada", Assert.Single(await Keys.FindKeysAsync([fresh.KeyId], Ct)).Subject);
    }

    [Fact]
    public async Task A_subject_named_by_a_payload_field_is_erased_with_every_entity_written_under_it()
    {
        var customer = NewKey();
        var other = NewKey();
        await Keys.AddKeysAsync([customer, other], Ct);
        await Writer.ApplyAsync(
        [
            Sealed(Create(1, "o-1", """{"customerId":"c-17"}"""), customer.KeyId, "Customer/c-17"),
            Sealed(Create(2, "o-2", """{"customerId":"c-17"}"""), customer.KeyId, "Customer/c-17"),
            Sealed(Create(3, "o-3", """{"customerId":"c-18"}"""), other.KeyId, "Customer/c-18"),
        ], Ct);
        Assert.Equal("Customer/c-17", await Keys.FindEntitySubjectAsync("Order", "o-1", Ct));
        Assert.Null(await Keys.FindEntitySubjectAsync("Order", "nope", Ct));

        await Writer.ApplyAsync([Erase(4, "Customer", "c-17")], Ct);
        Assert.Null(await Writer.GetAsync("Order", "o-1", Ct));
        Assert.Null(await Writer.GetAsync("Order", "o-2", Ct));
        Assert.NotNull(await Writer.GetAsync("Order", "o-3", Ct));
        Assert.Equal(2, Assert.Single(await Keys.GetErasuresAsync(10, Ct)).EntitiesDeleted);
        Assert.Null(await Keys.FindEntitySubjectAsync("Order", "o-1", Ct));
    }

    private static SubjectMappingRule OrderToCustomer { get; } = new()
    {
        DtoType = "Order",
        Rule = "Customer:customerId",
        Field = "customerId",
        SubjectOf = static payload => payload.TryGetProperty("customerId", out var id) ? "Customer/" + id.GetString() : null,
    };

    private async Task<StoredEntityMapping> MapOrdersAsync() => Assert.Single(await Keys.MapStoredEntitiesAsync([OrderToCustomer], Ct));

    [Fact]
    public async Task Entities_stored_before_their_type_was_mapped_are_mapped_with_their_own_keys_and_erased_with_the_subject()
    {
        // Written under their own subjects (Order was not mapped yet), then mapped to the customer their payload names.
        var own1 = NewKey();
        var own2 = NewKey();
        var own3 = NewKey();
        var gone = NewKey();
        var customer = NewKey();
        var other = NewKey();
        await Keys.AddKeysAsync([own1, own2, own3, gone, customer, other], Ct);
        await Writer.ApplyAsync(
        [
            Sealed(Create(1, "o-1", """{"customerId":"c-17"}"""), own1.KeyId),
            Sealed(Create(2, "o-2", """{"note":"names no customer"}"""), own2.KeyId),
            Sealed(Create(3, "o-3", """{"customerId":"c-17"}"""), own3.KeyId),
            Sealed(Create(4, "o-4", """{"customerId":"c-18"}"""), gone.KeyId),
            Sealed(Delete(5, "o-4"), gone.KeyId),
            Sealed(Create(6, "o-5", """{"customerId":"c-17"}"""), customer.KeyId, "Customer/c-17"), // mapped when written
        ], Ct);

        var result = await MapOrdersAsync();

        Assert.Equal((2, 1, false), (result.Mapped, result.Unnamed, result.AlreadyDone)); // o-1, o-3; o-2 names none; o-4 deleted; o-5 mapped
        Assert.Equal("Customer/c-17", await Keys.FindEntitySubjectAsync("Order", "o-1", Ct));
        Assert.Null(await Keys.FindEntitySubjectAsync("Order", "o-2", Ct));
        Assert.Null(await Keys.FindEntitySubjectAsync("Order", "o-4", Ct));
        Assert.Equal(
            new[] { own1.KeyId, own3.KeyId, customer.KeyId }.Order(),
            (await Keys.FindSubjectKeysAsync(["Customer/c-17"], Ct)).Select(k => k.KeyId).Order());
        Assert.Equal(own2.KeyId, Assert.Single(await Keys.FindSubjectKeysAsync(["Order/o-2"], Ct)).KeyId);
        Assert.True((await MapOrdersAsync()).AlreadyDone); // a completed pass is not repeated
        Assert.Empty(await Keys.MapStoredEntitiesAsync([], Ct));

        // An update that maps o-2 hands its own key over too; a create that reuses the deleted o-4's id does not take the
        // old o-4's keys (another customer's history).
        await Writer.ApplyAsync(
        [
            Sealed(Update(7, "o-2", """{"customerId":"c-17"}"""), customer.KeyId, "Customer/c-17"),
            Sealed(Create(8, "o-4", """{"customerId":"c-19"}"""), other.KeyId, "Customer/c-19"),
        ], Ct);
        Assert.Empty(await Keys.FindSubjectKeysAsync(["Order/o-2"], Ct));
        Assert.Equal(gone.KeyId, Assert.Single(await Keys.FindSubjectKeysAsync(["Order/o-4"], Ct)).KeyId);

        await Writer.ApplyAsync([Erase(9, "Customer", "c-17")], Ct);
        Assert.Empty(await Keys.FindKeysAsync([own1.KeyId, own2.KeyId, own3.KeyId, customer.KeyId], Ct));
        Assert.Single(await Keys.FindKeysAsync([gone.KeyId], Ct)); // a deleted entity's own key: no erasure reaches it
        Assert.Null(await Writer.GetAsync("Order", "o-1", Ct));
        Assert.Null(await Writer.GetAsync("Order", "o-2", Ct));
        Assert.Null(await Writer.GetAsync("Order", "o-3", Ct));
        Assert.NotNull(await Writer.GetAsync("Order", "o-4", Ct));
    }

    [Fact]
    public async Task The_mapping_pass_pages_through_every_stored_entity_and_a_rule_dropped_and_set_again_gets_a_new_pass()
    {
        // 2,500 orders: more than two chunks of the pass, with unnamed ones at a chunk's edge.
        var key = NewKey();
        await Keys.AddKeysAsync([key], Ct);
        var records = new List<WalRecord>();
        for (var i = 1; i <= 2_500; i++)
        {
            var json = i is 1_000 or 1_001 or 2_000 ? """{"note":"none"}""" : $$"""{"customerId":"c-{{i % 7}}"}""";
            records.Add(Create(i, "o-" + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture), json));
        }

        foreach (var chunk in records.Chunk(500))
        {
            await Writer.ApplyAsync(chunk, Ct);
        }

        var first = await MapOrdersAsync();
        Assert.Equal((2_497, 3), (first.Mapped, first.Unnamed));
        Assert.Equal("Customer/c-1", await Keys.FindEntitySubjectAsync("Order", "o-02500", Ct)); // 2500 % 7
        Assert.Null(await Keys.FindEntitySubjectAsync("Order", "o-01000", Ct));

        // Dropped: the record of the pass is forgotten; an order written meanwhile is mapped when the rule is set again.
        Assert.Empty(await Keys.MapStoredEntitiesAsync([], Ct));
        await Writer.ApplyAsync([Create(2_501, "o-02501", """{"customerId":"c-9"}""")], Ct);
        var again = await MapOrdersAsync();
        Assert.Equal((1, 3, false), (again.Mapped, again.Unnamed, again.AlreadyDone));
        Assert.Equal("Customer/c-9", await Keys.FindEntitySubjectAsync("Order", "o-02501", Ct));
    }

    [Fact]
    public async Task Rewrapping_moves_every_key_to_the_new_master_key_and_a_second_run_finds_nothing_left()
    {
        var keys = Enumerable.Range(0, 2500).Select(_ => NewKey("mk-old")).ToList();
        await Keys.AddKeysAsync(keys, Ct);
        long reported = 0;
        var done = await Keys.RewrapKeysAsync("mk-old", "mk-new", k => [.. k.WrappedKey, 9], n => reported = n, Ct);
        Assert.Equal(2500, done);
        Assert.Equal(2500, reported);
        var stats = await Keys.GetKeyStatisticsAsync(Ct);
        Assert.Equal(2500, Assert.Single(stats.KeysByMasterKey, p => p.Key == "mk-new").Value);
        Assert.DoesNotContain("mk-old", stats.KeysByMasterKey.Keys);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], Assert.Single(await Keys.FindKeysAsync([keys[7].KeyId], Ct)).WrappedKey);
        Assert.Equal(0, await Keys.RewrapKeysAsync("mk-old", "mk-new", k => k.WrappedKey, null, Ct));
    }

    [Fact]
    public async Task A_batch_assigns_each_items_key_and_an_erasure_forgets_that_items_before_image_only()
    {
        var ada = NewKey();
        var bob = NewKey();
        await Keys.AddKeysAsync([ada, bob], Ct);
        await Writer.ApplyAsync([Sealed(Create(1, "ada", """{"n":1}"""), ada.KeyId), Sealed(Create(2, "bob", """{"n":1}"""), bob.KeyId)], Ct);
        var batch = Support.BatchRecords.Batch(3,
            Support.BatchRecords.Update(3, 0, "ada", """{"n":2}""") with { PayloadKeyId = ada.KeyId, Subject = "Order/ada" },
            Support.BatchRecords.Update(3, 1, "bob", """{"n":2}""") with { PayloadKeyId = bob.KeyId, Subject = "Order/bob" });
        Assert.Equal(ApplyStatus.Applied, (await Writer.ApplyAsync([batch], Ct)).Single().Status);

        await Writer.ApplyAsync([Erase(4, "Order", "ada")], Ct);
        var items = (await Writer.GetResolutionsAsync(new Lsn(2), 1, Ct)).Single().Items!; // the batch at LSN 3
        Assert.Null(items[0].Before);
        Assert.Equal(1, items[1].Before!.Value.GetProperty("n").GetInt32());
    }

    protected static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
