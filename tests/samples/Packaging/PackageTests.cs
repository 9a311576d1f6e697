using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Nv.Samples.Tests.Support;

namespace Nv.Samples.Tests.Packaging;

/// <summary>The NuGet packages are complete: <c>./build.sh pack</c> writes them to artifacts/packages, then a copy of the
/// Orders sample is restored and built from them alone (<c>-p:NvFromPackages=true</c>, a nuget.config adding that folder
/// to the usual source, its own package folder so nothing comes from an earlier restore) and run: it must place an order
/// and show its audit entry. A dependency, framework reference, file or public type missing from a package fails here.</summary>
public sealed class PackageTests
{
    private static readonly string[] Packages = ["Nv.Wal", "Nv.DbWriter", "Nv.Audit", "Nv.Host"];

    [Fact]
    public async Task The_sample_builds_and_runs_from_the_packages_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = RepoPaths.Root;

        // 1. Pack. The suite has built Release already: reuse it (./build.sh pack alone builds first).
        var pack = await RunAsync(root, TimeSpan.FromMinutes(5), "bash", RepoPaths.Configuration == "Release" ? ["./build.sh", "pack", "--no-build"] : ["./build.sh", "pack"]);
        var feed = Path.Combine(root, "artifacts", "packages");
        var version = Version(root);
        foreach (var id in Packages)
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.{version}.nupkg")), $"{id}.{version}.nupkg missing after ./build.sh pack:\n{pack}");
            using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
            var names = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains($"lib/net10.0/{id}.dll", names);
            Assert.Contains($"lib/net10.0/{id}.xml", names); // XML docs
            Assert.Contains("README.md", names);
        }

        // 2. A copy of the sample outside the repository, with the repository's build settings and a local feed.
        using var work = new TempDirectory("package-test");
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            File.Copy(Path.Combine(root, file), Path.Combine(work.Path, file));
        }

        File.Copy(Path.Combine(root, "samples", "Directory.Build.props"), Path.Combine(Directory.CreateDirectory(Path.Combine(work.Path, "samples")).FullName, "Directory.Build.props"));
        var sample = Directory.CreateDirectory(Path.Combine(work.Path, "samples", "Orders")).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "samples", "Orders"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var target = Path.Combine(sample, Path.GetRelativePath(Path.Combine(root, "samples", "Orders"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        // The folder feed is added to the sources the machine already has (no <clear/>).
        await File.WriteAllTextAsync(Path.Combine(work.Path, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="nv-local" value="{feed}" />
              </packageSources>
            </configuration>
            """, ct);

        // 3. Restore into a fresh package folder (packages already extracted on this machine serve as a read-only fallback,
        // but Nv's own come from the feed), then build.
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var fallback = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(home, ".nuget", "packages");
        var build = await RunAsync(work.Path, TimeSpan.FromMinutes(6), "dotnet", "build", sample, "-c", "Release", "-nologo", "-v", "quiet",
            "-p:NvFromPackages=true", "-p:RestorePackagesPath=" + Path.Combine(work.Path, "packages"), "-p:RestoreFallbackFolders=" + fallback);
        var deps = await File.ReadAllTextAsync(Path.Combine(sample, "bin", "Release", "net10.0", "Orders.deps.json"), ct);
        using (var document = JsonDocument.Parse(deps))
        {
            var libraries = document.RootElement.GetProperty("libraries");
            foreach (var id in Packages)
            {
                Assert.True(libraries.TryGetProperty($"{id}/{version}", out var library), $"{id} {version} is not in the sample's dependencies:\n{build}");
                Assert.Equal("package", library.GetProperty("type").GetString());
            }
        }

        Assert.True(Directory.Exists(Path.Combine(work.Path, "packages", "nv.host", version)), "Nv.Host was not restored from the local feed");

        // 4. Run it: place an order, read it, find its audit entry.
        await using var orders = await OrdersProcess.StartAsync(Path.Combine(sample, "bin", "Release", "net10.0", "Orders.dll"), Path.Combine(work.Path, "data"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = JsonContent.Create(new { customerId = "c-1", lines = new[] { new { sku = "PKG-1", quantity = 2, unitPrice = 3.5m } } }),
        };
        request.Headers.Add("Idempotency-Key", "package-test-1");
        using var placed = await orders.Client.SendAsync(request, ct);
        Assert.True(placed.StatusCode == HttpStatusCode.Created, $"{(int)placed.StatusCode}: {await placed.Content.ReadAsStringAsync(ct)}\n{orders.Tail}");
        var orderId = (await placed.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        var read = await orders.Client.GetFromJsonAsync<JsonElement>(new Uri($"/orders/{orderId}", UriKind.Relative), ct);
        Assert.Equal(7m, read.GetProperty("total").GetDecimal());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var history = await orders.Client.GetAsync(new Uri($"/orders/{orderId}/history", UriKind.Relative), ct);
            if (history.StatusCode == HttpStatusCode.OK)
            {
                var changes = (await history.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("changes");
                Assert.Equal("package-test-1", changes[0].GetProperty("requestId").GetString());
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no audit entry for {orderId}: {(int)history.StatusCode}");
            await Task.Delay(50, ct);
        }
    }

    private static string Version(string root)
    {
        var props = System.Xml.Linq.XDocument.Load(Path.Combine(root, "Directory.Build.props"));
        return props.Descendants("VersionPrefix").Single().Value;
    }

    private static async Task<string> RunAsync(string directory, TimeSpan timeout, string file, params string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}");
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        return output;
    }
}
