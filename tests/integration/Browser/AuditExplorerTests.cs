using System.Globalization;
using Microsoft.Playwright;

namespace Nv.Integration.Tests.Browser;

/// <summary>The audit explorer (/ui) in headless Chromium against a real Nv: the timeline with its diffs, time travel, hostile
/// values staying text, role-gated views and the operations view.</summary>
public sealed class AuditExplorerTests(AuditExplorerFixture fixture) : IClassFixture<AuditExplorerFixture>
{
    private static string NewId() => "o-" + Guid.NewGuid().ToString("N")[..10];

    private static Task ExpectAsync(ILocator locator, string text) => Assertions.Expect(locator).ToHaveTextAsync(text);

    /// <summary>Five writes: create, change a field, add one, remove one and change another, replace. Returns the LSNs.</summary>
    private async Task<long[]> WriteFiveTimesAsync(string id)
    {
        var host = fixture.Host;
        var path = $"/v1/entities/Order/{id}";
        const string patch = "application/merge-patch+json";
        var writes = new[]
        {
            await host.WriteAsync(HttpMethod.Post, path, """{"status":"new","total":10.50,"lines":[1,2]}""",
                new Dictionary<string, string> { ["X-Reason"] = "checkout", ["X-Meta-Ticket"] = "T-42" }, key: "alice"),
            await host.WriteAsync(HttpMethod.Patch, path, """{"status":"paid"}""", new Dictionary<string, string> { ["X-Reason"] = "payment received" }, patch, "bob"),
            await host.WriteAsync(HttpMethod.Patch, path, """{"note":"gift"}""", new Dictionary<string, string> { ["X-Reason"] = "customer asked" }, patch, "alice"),
            await host.WriteAsync(HttpMethod.Patch, path, """{"note":null,"total":12.00}""", new Dictionary<string, string> { ["X-Reason"] = "discount removed" }, patch, "bob"),
            await host.WriteAsync(HttpMethod.Put, path, """{"status":"shipped","total":12.00,"lines":[1,2,3]}""",
                new Dictionary<string, string> { ["X-Reason"] = "handed to carrier", ["X-Meta-Carrier"] = "posten" }, key: "alice"),
        };
        return [.. writes.Select(w => w.GetProperty("lsn").GetInt64())];
    }

    private static async Task<string[]> ChangesAsync(ILocator card)
    {
        var rows = new List<string>();
        foreach (var row in await card.GetByTestId("change").AllAsync())
        {
            rows.Add($"{await row.GetAttributeAsync("data-kind")} {await row.GetAttributeAsync("data-path")}: "
                + $"{(await row.Locator("td.before").InnerTextAsync()).Trim()} → {(await row.Locator("td.after").InnerTextAsync()).Trim()}");
        }

        return [.. rows];
    }

    [Fact]
    public async Task The_timeline_of_an_entity_written_five_times_shows_five_entries_with_their_diffs()
    {
        var id = NewId();
        var lsns = await WriteFiveTimesAsync(id);
        await using var tab = await fixture.OpenAsync("auditor");
        await tab.GotoAsync($"#/entity/Order/{id}");
        await Assertions.Expect(tab.Page.GetByTestId("timeline")).ToHaveAttributeAsync("data-loaded", "true");

        var cards = await tab.Page.Locator("article[data-testid=entry]").AllAsync();
        Assert.Equal(5, cards.Count);
        // Numbers come back in Nv's one form (docs/json-numbers.md): 10.50 is 10.5, 12.00 is 12.
        string[][] expected =
        [
            ["changed /lines: [ 1, 2 ] → [ 1, 2, 3 ]", "changed /status: \"paid\" → \"shipped\""],
            ["removed /note: \"gift\" → —", "changed /total: 10.5 → 12"],
            ["added /note: — → \"gift\""],
            ["changed /status: \"new\" → \"paid\""],
            ["added /lines: — → [ 1, 2 ]", "added /status: — → \"new\"", "added /total: — → 10.5"],
        ];
        for (var k = 0; k < 5; k++)
        {
            Assert.Equal(lsns[4 - k].ToString(CultureInfo.InvariantCulture), await cards[k].GetAttributeAsync("data-lsn"));
            Assert.Equal(k == 4 ? "create" : "update", await cards[k].GetAttributeAsync("data-op"));
            Assert.Equal(expected[k], await ChangesAsync(cards[k]));
        }

        // Who, why and the request link are on each card; the request link lists that request's entries.
        await ExpectAsync(cards[3].GetByTestId("reason"), "payment received");
        Assert.Contains("by alice", await cards[0].Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("by bob", await cards[1].Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        await tab.ScreenshotAsync("timeline");

        await cards[4].Locator("a.request").ClickAsync();
        await Assertions.Expect(tab.Page.Locator("[data-testid=request-entries] article[data-testid=entry]")).ToHaveCountAsync(1);
        Assert.DoesNotContain(tab.Console, m => m.StartsWith("error", StringComparison.Ordinal) || m.StartsWith("pageerror", StringComparison.Ordinal));
    }

    [Fact]
    public async Task As_of_shows_the_state_at_three_moments_and_nothing_before_the_creation()
    {
        var id = NewId();
        var lsns = await WriteFiveTimesAsync(id);
        var times = (await fixture.Host.HistoryAsync("Order", id)).Select(e => e.GetProperty("timestamp").GetDateTimeOffset()).ToArray();
        await using var tab = await fixture.OpenAsync("auditor");
        await tab.GotoAsync($"#/entity/Order/{id}");
        await Assertions.Expect(tab.Page.GetByTestId("timeline")).ToHaveAttributeAsync("data-loaded", "true");

        async Task<string> AsOfAsync(DateTimeOffset at, string exists)
        {
            await tab.Page.GetByTestId("asof-input").FillAsync(at.ToString("O", CultureInfo.InvariantCulture));
            await tab.Page.GetByTestId("asof-go").ClickAsync();
            await Assertions.Expect(tab.Page.GetByTestId("asof-state")).ToHaveAttributeAsync("data-exists", exists);
            return await tab.Page.GetByTestId("asof-state").InnerTextAsync();
        }

        // Between the 2nd and 3rd write: paid, no note yet, the original total token.
        var between = await AsOfAsync(times[1] + ((times[2] - times[1]) / 2), "true");
        await Assertions.Expect(tab.Page.GetByTestId("asof-state")).ToHaveAttributeAsync("data-lsn", lsns[1].ToString(CultureInfo.InvariantCulture));
        Assert.Contains("\"status\": \"paid\"", between, StringComparison.Ordinal);
        Assert.Contains("\"total\": 10.5", between, StringComparison.Ordinal);
        Assert.DoesNotContain("note", between, StringComparison.Ordinal);
        await Assertions.Expect(tab.Page.Locator("article.asof-source")).ToHaveAttributeAsync("data-lsn", lsns[1].ToString(CultureInfo.InvariantCulture));

        // Exactly at the 3rd write: that write's state (at or before is inclusive).
        var atThird = await AsOfAsync(times[2], "true");
        await Assertions.Expect(tab.Page.GetByTestId("asof-state")).ToHaveAttributeAsync("data-lsn", lsns[2].ToString(CultureInfo.InvariantCulture));
        Assert.Contains("\"note\": \"gift\"", atThird, StringComparison.Ordinal);

        // After the last write: the replaced document.
        var after = await AsOfAsync(times[4].AddSeconds(1), "true");
        await Assertions.Expect(tab.Page.GetByTestId("asof-state")).ToHaveAttributeAsync("data-lsn", lsns[4].ToString(CultureInfo.InvariantCulture));
        Assert.Contains("\"status\": \"shipped\"", after, StringComparison.Ordinal);
        Assert.Contains("\"total\": 12", after, StringComparison.Ordinal);
        Assert.DoesNotContain("note", after, StringComparison.Ordinal);
        await tab.ScreenshotAsync("as-of");

        var before = await AsOfAsync(times[0].AddSeconds(-1), "false");
        Assert.Contains("did not exist", before, StringComparison.Ordinal);

        // A change's own button travels to its moment.
        await tab.Page.Locator("article[data-testid=entry]").Nth(4).GetByTestId("asof-here").ClickAsync();
        await Assertions.Expect(tab.Page.GetByTestId("asof-state")).ToHaveAttributeAsync("data-lsn", lsns[0].ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Script_and_img_payloads_from_the_trail_stay_inert_and_are_shown_as_text()
    {
        const string script = "<script>window.__nvXss=1</script>";
        const string img = "<img src=x onerror=\"window.__nvXss=2\">";
        const string reason = "<img src=x onerror=window.__nvXss=3>";
        const string note = "<script>window.__nvXss=4</script>";
        var id = NewId();
        var payload = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = script, ["pic"] = img });
        await fixture.Host.WriteAsync(HttpMethod.Post, $"/v1/entities/Order/{id}", payload,
            new Dictionary<string, string> { ["X-Reason"] = reason, ["X-Meta-Note"] = note });
        await fixture.Host.WriteAsync(HttpMethod.Patch, $"/v1/entities/Order/{id}", """{"name":"\"><svg onload=window.__nvXss=5>"}""", null,
            "application/merge-patch+json");
        var entryId = (await fixture.Host.HistoryAsync("Order", id))[0].GetProperty("id").GetString();

        await using var tab = await fixture.OpenAsync("auditor");
        foreach (var (view, ready) in new[]
        {
            ($"#/entity/Order/{id}", "[data-testid=timeline][data-loaded=true]"), ($"#/entry/{entryId}", "[data-testid=entry-fields]"),
            ($"#/search?entityId={id}", "[data-testid=result]"), ("#/user/admin", "[data-testid=result]"),
        })
        {
            await tab.GotoAsync(view);
            await Assertions.Expect(tab.Page.Locator(ready).First).ToBeVisibleAsync();
            Assert.Null(await tab.Page.EvaluateAsync<int?>("() => window.__nvXss ?? null"));
            Assert.Equal(0, await tab.Page.Locator("main img, main script, main [onerror], main [onload], main iframe").CountAsync());
        }

        await tab.GotoAsync($"#/entity/Order/{id}");
        await Assertions.Expect(tab.Page.GetByTestId("timeline")).ToHaveAttributeAsync("data-loaded", "true");
        var text = await tab.Page.Locator("main").InnerTextAsync();
        Assert.Contains(script, text, StringComparison.Ordinal);
        Assert.Contains("<img src=x onerror=\\\"window.__nvXss=2\\\">", text, StringComparison.Ordinal); // inside a JSON string
        Assert.Contains("<svg onload=window.__nvXss=5>", text, StringComparison.Ordinal);
        Assert.Contains(note, text, StringComparison.Ordinal);
        await ExpectAsync(tab.Page.GetByTestId("reason").First, reason);
        await tab.ScreenshotAsync("xss-inert");

        // Nothing was even attempted: a blocked inline script or handler would show as a CSP violation in the console.
        Assert.Null(await tab.Page.EvaluateAsync<int?>("() => window.__nvXss ?? null"));
        Assert.DoesNotContain(tab.Console, m => m.Contains("Content Security Policy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_reader_key_cannot_open_the_audit_views()
    {
        var id = NewId();
        await fixture.Host.WriteAsync(HttpMethod.Post, $"/v1/entities/Order/{id}", """{"status":"new"}""");
        var entryId = (await fixture.Host.HistoryAsync("Order", id))[0].GetProperty("id").GetString();

        await using var tab = await fixture.OpenAsync("reader");
        await Assertions.Expect(tab.Page.Locator("#nav a")).ToHaveTextAsync(["API key"]);
        foreach (var (view, role) in new[]
        {
            ($"#/entity/Order/{id}", "auditor"), ("#/search", "auditor"), ($"#/entry/{entryId}", "auditor"), ("#/user/admin", "auditor"), ("#/ops", "operator"),
        })
        {
            await tab.GotoAsync(view);
            await Assertions.Expect(tab.Page.GetByTestId("denied")).ToContainTextAsync($"needs role {role}");
            Assert.Equal(0, await tab.Page.Locator("article[data-testid=entry], table.entries").CountAsync());
        }

        await tab.ScreenshotAsync("reader-denied");
        Assert.DoesNotContain(tab.Requests, u => u.Contains("/v1/audit", StringComparison.Ordinal) || u.Contains("/v1/ops", StringComparison.Ordinal));

        // The page only hides what the server refuses anyway: the same key gets 403 from the API.
        var status = await tab.Page.EvaluateAsync<int>(
            "async p => (await fetch(p, { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('nv.apiKey') } })).status",
            $"/v1/audit/entities/Order/{id}/history");
        Assert.Equal(403, status);
    }

    [Fact]
    public async Task The_operations_view_shows_wal_positions_chains_and_charts_and_refreshes()
    {
        var id = NewId();
        await fixture.Host.WriteAsync(HttpMethod.Post, $"/v1/entities/Order/{id}", """{"status":"new"}""");
        await using var tab = await fixture.OpenAsync("operator");
        await Assertions.Expect(tab.Page.Locator("#nav a")).ToHaveTextAsync(["Operations", "API key"]);
        await tab.GotoAsync("#/ops");
        await Assertions.Expect(tab.Page.GetByTestId("ops-updated")).ToHaveAttributeAsync("data-readings", "1");

        var status = await fixture.Host.GetJsonAsync("/v1/ops/status", "operator");
        var wal = status.GetProperty("wal");
        await Assertions.Expect(tab.Page.GetByTestId("ops-state")).ToContainTextAsync("open");
        Assert.Contains($"{wal.GetProperty("firstLsn").GetInt64()} –", await tab.Page.GetByTestId("ops-lsn-range").InnerTextAsync(), StringComparison.Ordinal);
        await Assertions.Expect(tab.Page.GetByTestId("ops-chains").Locator("tbody tr")).ToHaveCountAsync(1);

        // A write between two readings shows up in the next one (the view polls by itself).
        await fixture.Host.WriteAsync(HttpMethod.Put, $"/v1/entities/Order/{id}", """{"status":"paid"}""");
        var last = (await fixture.Host.GetJsonAsync("/v1/ops/status", "operator")).GetProperty("wal").GetProperty("lastLsn").GetInt64();
        await Assertions.Expect(tab.Page.GetByTestId("ops-lsn-range")).ToContainTextAsync($"– {last}", new() { Timeout = 10_000 });
        await Assertions.Expect(tab.Page.GetByTestId("chart-rate").Locator("polyline, circle")).Not.ToHaveCountAsync(0);
        await Assertions.Expect(tab.Page.GetByTestId("chart-lag").Locator("polyline")).ToHaveCountAsync(2);
        await tab.ScreenshotAsync("operations");

        // Leaving the view stops the polling.
        await tab.GotoAsync("#/key");
        var before = tab.Requests.Count(u => u.EndsWith("/v1/ops/status", StringComparison.Ordinal));
        await Task.Delay(2500, TestContext.Current.CancellationToken);
        Assert.Equal(before, tab.Requests.Count(u => u.EndsWith("/v1/ops/status", StringComparison.Ordinal)));
    }
}
