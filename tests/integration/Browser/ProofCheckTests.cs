using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Nv.Integration.Tests.Support;
using Nv.Wal.Protection;
using Nv.Audit;
using Nv.Audit.Chain;

namespace Nv.Integration.Tests.Browser;

/// <summary>The explorer's proof check, run by the page in Chromium with WebCrypto against a pinned public key: it verifies
/// a real entry, refuses an entry altered in the store and a checkpoint signed by another key, and its building blocks
/// (canonical encoding, DER signatures) match Nv's own.</summary>
public sealed class ProofCheckTests(AuditExplorerFixture fixture) : IClassFixture<AuditExplorerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string> NewEntryAsync(BrowserHost host, string json = """{"status":"new","total":10.50}""")
    {
        var id = "p-" + Guid.NewGuid().ToString("N")[..10];
        await host.WriteAsync(HttpMethod.Post, $"/v1/entities/Invoice/{id}", json, new Dictionary<string, string> { ["X-Reason"] = "issued" });
        return (await host.HistoryAsync("Invoice", id))[^1].GetProperty("id").GetString()!;
    }

    private static async Task<ExplorerPage> VerifyAsync(ExplorerPage tab, string entryId, string pem, bool expected)
    {
        await tab.GotoAsync($"#/entry/{entryId}");
        await tab.Page.GetByTestId("pin-key").FillAsync(pem);
        await tab.Page.GetByTestId("pin").ClickAsync();
        await Assertions.Expect(tab.Page.GetByTestId("proof-verdict")).ToHaveAttributeAsync("data-ok", expected ? "true" : "false");
        return tab;
    }

    [Fact]
    public async Task A_proof_verifies_in_the_browser_against_the_pinned_key_without_asking_the_server_for_a_verdict()
    {
        var first = await NewEntryAsync(fixture.Host);
        await using var tab = await fixture.OpenAsync("auditor");
        await VerifyAsync(tab, first, fixture.Host.PublicKeyPem(), expected: true);
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps").Locator("li.bad")).ToHaveCountAsync(0);
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps").Locator("li.ok")).ToHaveCountAsync(11);
        await Assertions.Expect(tab.Page.GetByTestId("proof-reason")).ToContainTextAsync("signed");

        // A later entry: the page also checks that the newer signed log extends the checkpoint it accepted before.
        for (var i = 0; i < 5; i++)
        {
            await NewEntryAsync(fixture.Host);
        }

        var second = await NewEntryAsync(fixture.Host);
        await tab.GotoAsync($"#/entry/{second}");
        await Assertions.Expect(tab.Page.GetByTestId("proof-verdict")).ToHaveAttributeAsync("data-ok", "true");
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps")).ToContainTextAsync("Consistency");
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps")).ToContainTextAsync("extends the log of size");
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps").Locator("li.bad")).ToHaveCountAsync(0);
        await tab.ScreenshotAsync("proof-verified");

        Assert.DoesNotContain(tab.Requests, u => u.Contains("/v1/audit/verify", StringComparison.Ordinal));
        Assert.Contains(tab.Requests, u => u.EndsWith($"/v1/audit/entries/{second}/proof", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_an_entry_is_altered_in_the_store_the_page_shows_a_cross_with_the_reason()
    {
        // A host of its own: this test drops the store's immutability triggers.
        await using var host = await BrowserHost.StartAsync();
        var entryId = await NewEntryAsync(host, """{"status":"new","total":10.50}""");
        await using var tab = await fixture.OpenAsync("auditor", host);
        await VerifyAsync(tab, entryId, host.PublicKeyPem(), expected: true);

        await using (var raw = new SqliteConnection($"Data Source={Path.Combine(host.DataDirectory, "audit.db")};Pooling=False"))
        {
            await raw.OpenAsync(Ct);
            await using var command = raw.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_entries_no_update; UPDATE audit_entries SET after_json = '{\"status\":\"new\",\"total\":1.00}' WHERE id = $id";
            command.Parameters.AddWithValue("$id", entryId);
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
        }

        await tab.Page.ReloadAsync();
        await Assertions.Expect(tab.Page.GetByTestId("proof-verdict")).ToHaveAttributeAsync("data-ok", "false");
        await Assertions.Expect(tab.Page.GetByTestId("proof-reason")).ToContainTextAsync("changed after it was written");
        await Assertions.Expect(tab.Page.GetByTestId("after")).ToContainTextAsync("1.00");
        await tab.ScreenshotAsync("proof-altered-entry");

        // An attacker who also rewrites the entry's recorded hash passes the chain-hash step, but the Merkle leaf under
        // the signed root still holds the original bytes.
        var altered = await host.App.Services.GetRequiredService<IAuditSink>().GetAsync(Guid.Parse(entryId), Ct);
        await using (var raw = new SqliteConnection($"Data Source={Path.Combine(host.DataDirectory, "audit.db")};Pooling=False"))
        {
            await raw.OpenAsync(Ct);
            await using var command = raw.CreateCommand();
            command.CommandText = "UPDATE audit_entries SET hash = $hash WHERE id = $id";
            command.Parameters.AddWithValue("$hash", AuditHash.Compute(altered!));
            command.Parameters.AddWithValue("$id", entryId);
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
        }

        await tab.Page.ReloadAsync();
        await Assertions.Expect(tab.Page.GetByTestId("proof-verdict")).ToHaveAttributeAsync("data-ok", "false");
        await Assertions.Expect(tab.Page.GetByTestId("proof-reason")).ToContainTextAsync("changed after it was logged");
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps").Locator("li", new() { HasText = "Chain hash" })).ToHaveClassAsync("ok");
        await Assertions.Expect(tab.Page.GetByTestId("proof-steps").Locator("li", new() { HasText = "Leaf hash" })).ToHaveClassAsync("bad");
    }

    /// <summary>Fails without the page's erased rendering: an erased entry showed "No field changed.", as if a write had
    /// changed nothing, and time travel to a moment before the erasure said the entity "did not exist: it was deleted" at
    /// its creation.</summary>
    [Fact]
    public async Task An_erased_subjects_entries_say_their_data_is_gone_and_their_proofs_still_verify()
    {
        using var keys = new TempDirectory();
        var master = Path.Combine(keys.Path, "master.key");
        FileMasterKeyProvider.CreateKeyFile(master);
        await using var host = await BrowserHost.StartAsync("--Nv:Encryption:MasterKeyFile=" + master);
        const string secret = "Ottilie-Brandvold-ui-5521";
        var id = "c-" + Guid.NewGuid().ToString("N")[..10];
        var why = new Dictionary<string, string> { ["X-Reason"] = "signup" };
        await host.WriteAsync(HttpMethod.Post, $"/v1/entities/Customer/{id}", $$"""{"name":"{{secret}}"}""", why);
        await host.WriteAsync(HttpMethod.Put, $"/v1/entities/Customer/{id}", $$"""{"name":"{{secret}}","tier":2}""", why);
        var first = (await host.HistoryAsync("Customer", id))[0].GetProperty("id").GetString()!;

        await using var tab = await fixture.OpenAsync("auditor", host);
        await tab.GotoAsync($"#/entity/Customer/{id}");
        await Assertions.Expect(tab.Page.GetByTestId("timeline")).ToHaveAttributeAsync("data-loaded", "true");
        var cards = tab.Page.Locator("article[data-testid=entry]");
        await Assertions.Expect(cards.Locator("[data-testid=change]")).ToHaveCountAsync(2); // opened with the key: added /name, then added /tier
        await Assertions.Expect(cards.Locator("[data-testid=erased]")).ToHaveCountAsync(0);

        await host.WriteAsync(HttpMethod.Delete, $"/v1/subjects/Customer/{id}", headers: new Dictionary<string, string> { ["X-Reason"] = "erasure request 9" });

        await tab.Page.ReloadAsync();
        await Assertions.Expect(tab.Page.GetByTestId("timeline")).ToHaveAttributeAsync("data-loaded", "true");
        await Assertions.Expect(cards).ToHaveCountAsync(2);
        await Assertions.Expect(cards.Locator("[data-testid=erased]")).ToHaveCountAsync(2);
        await Assertions.Expect(cards.Locator("[data-testid=change]")).ToHaveCountAsync(0);
        await Assertions.Expect(cards.GetByText("No field changed.")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await tab.Page.ContentAsync(), StringComparison.Ordinal);
        await tab.ScreenshotAsync("erased-timeline");

        // Time travel to a moment before the erasure shows no erased data either.
        await cards.Last.GetByTestId("asof-here").ClickAsync();
        await Assertions.Expect(tab.Page.GetByTestId("asof-erased")).ToHaveCountAsync(1);
        Assert.DoesNotContain("did not exist", await tab.Page.ContentAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(secret, await tab.Page.ContentAsync(), StringComparison.Ordinal);
        await tab.ScreenshotAsync("erased-asof");

        // The entry itself: no images, and its proof still verifies in the browser (the leaf commits to the ciphertext).
        await VerifyAsync(tab, first, host.PublicKeyPem(), expected: true);
        await Assertions.Expect(tab.Page.GetByTestId("erased")).ToHaveCountAsync(1);
        await Assertions.Expect(tab.Page.GetByTestId("after")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await tab.Page.ContentAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_checkpoint_signed_by_another_key_than_the_pinned_one_shows_a_cross()
    {
        var entryId = await NewEntryAsync(fixture.Host);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var tab = await fixture.OpenAsync("auditor");
        await VerifyAsync(tab, entryId, other.ExportSubjectPublicKeyInfoPem(), expected: false);
        await Assertions.Expect(tab.Page.GetByTestId("proof-reason")).ToContainTextAsync("not the pinned key");
        await tab.ScreenshotAsync("proof-other-key");

        // A private key is refused as a pin: only the public half belongs in a browser.
        await tab.Page.GetByTestId("pin-key").FillAsync(other.ExportPkcs8PrivateKeyPem());
        await tab.Page.GetByTestId("pin").ClickAsync();
        await Assertions.Expect(tab.Page.GetByTestId("pinned-key-id")).ToContainTextAsync("never a private key");
    }

    [Fact]
    public async Task The_page_encodes_the_documented_golden_entries_to_their_documented_hashes()
    {
        await using var tab = await fixture.OpenAsync("auditor");
        // AuditTestData.FixedEntry() of the unit tests (docs/audit-hash-chain.md, "Golden vectors"), as the leaf endpoint shapes it.
        var hashes = await tab.Page.EvaluateAsync<string[]>("""
            async () => {
              const c = await import('/ui/js/canonical.js');
              const v1 = {
                encoding: 1, id: '01890a5d-ac96-774b-bcce-b302099a8057', timestamp: '2025-03-14T15:09:26.5358979Z', service: 'orders',
                category: 'entity-mutation', operation: 'update', userId: 'user-42', dtoType: 'Order', entityId: 'o-17',
                before: '{"status":"new","total":10.50,"lines":[1,2]}',
                after: '{"total":12.00,"status":"paid","lines":[1,2],"note":"caf\u00e9 \\"x\\""}',
                changes: [
                  { path: '/note', after: '"caf\u00e9 \\"x\\""' },
                  { path: '/status', before: '"new"', after: '"paid"' },
                  { path: '/total', before: '10.50', after: '12.00' },
                ],
                reason: 'payment received', metadata: { z: 'last', a: 'first' }, requestId: 'req-1', lsn: 1234, sequence: 7,
                prevHash: 'a'.repeat(64), walRecordHash: null,
              };
              const v2 = { ...v1, encoding: 2, walRecordHash: '5f1c0e3c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c' };
              const sealed = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)));
              const v3 = { ...v2, encoding: 3, before: null, after: null, changes: [], keyId: '0f8fad5b-d9cb-469f-a165-70867728950e', sealed };
              return [await c.chainHashHex(v1.prevHash, c.encodeEntry(v1)), await c.chainHashHex(v2.prevHash, c.encodeEntry(v2)),
                await c.chainHashHex(v3.prevHash, c.encodeEntry(v3))];
            }
            """);
        Assert.Equal(["3bb064d8292630830ccbb436d6c31b30095a72fa1c10a19f99609c1d02adfe4d", "16c48083f8107245b6800b68a0874598983185fabe1c413dc7a4fab6042544dc",
            "9229caf25fae8fa996c13c3891cdb7f7ab0fd9137aead41e502fe9c3e2682432"], hashes);
    }

    [Fact]
    public async Task The_page_verifies_DER_signatures_whose_integers_are_short_or_padded_and_rejects_altered_ones()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var body = Encoding.UTF8.GetBytes("nv-audit-checkpoint/v1\nchain: nv\n");
        // DER integers are 33 bytes when the high bit is set and shorter than 32 when leading bytes are zero: find both.
        var signatures = new List<byte[]>();
        bool padded = false, shortened = false;
        for (var i = 0; i < 5000 && !(padded && shortened); i++)
        {
            var der = key.SignData(body, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
            var rLength = der[3];
            var sLength = der[5 + rLength];
            if (!padded && (rLength == 33 || sLength == 33))
            {
                padded = true;
                signatures.Add(der);
            }
            else if (!shortened && (rLength < 32 || sLength < 32))
            {
                shortened = true;
                signatures.Add(der);
            }
        }

        Assert.True(padded && shortened, "could not produce both kinds of signature");
        await using var tab = await fixture.OpenAsync("auditor");
        var results = await tab.Page.EvaluateAsync<string[]>("""
            async ([pem, body, sigs]) => {
              const cp = await import('/ui/js/checkpoint.js');
              const k = await cp.importPublicKey(cp.pemToSpki(pem));
              const bytes = new TextEncoder().encode(body);
              const out = [];
              for (const b64 of sigs) {
                const der = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
                out.push(String(await cp.verifySignature(k, der, bytes)));
                const altered = der.slice(); altered[altered.length - 1] ^= 1;
                out.push(String(await cp.verifySignature(k, altered, bytes)));
                try { await cp.verifySignature(k, der.slice(0, der.length - 1), bytes); out.push('accepted'); } catch (e) { out.push('refused'); }
              }
              return out;
            }
            """, new object[] { key.ExportSubjectPublicKeyInfoPem(), Encoding.UTF8.GetString(body), signatures.Select(Convert.ToBase64String).ToArray() });
        Assert.Equal(["true", "false", "refused", "true", "false", "refused"], results);
    }
}
