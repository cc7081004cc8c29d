using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace PubSub.Server.Tests;

/// <summary>
/// The libraries pack as NuGet users expect: `dotnet pack` (of the build these tests run on) makes
/// a package and a symbols package, with the metadata from one place (Directory.Build.props).
/// </summary>
public sealed class PackagingTests
{
    [Theory]
    [InlineData("server/PubSub.Server/PubSub.Server.csproj", "PubSub.Server")]
    [InlineData("server/PubSub.Server.Redis/PubSub.Server.Redis.csproj", "PubSub.Server.Redis")]
    public async Task A_library_packs_with_its_id_version_license_readme_repository_and_symbols(string project, string id)
    {
        var output = Directory.CreateTempSubdirectory("pubsub-pack-").FullName;
        try
        {
            var configuration = HostProcess.HostAssembly.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            using var pack = Process.Start(new ProcessStartInfo("dotnet", ["pack", Path.Combine(Repository.Root, project), "-c", configuration, "--no-build", "-o", output, "-nologo"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var log = await pack.StandardOutput.ReadToEndAsync() + await pack.StandardError.ReadToEndAsync();
            await pack.WaitForExitAsync().WithTimeout("dotnet pack", TimeSpan.FromSeconds(60));
            Assert.True(pack.ExitCode == 0, log);

            var version = XDocument.Load(Path.Combine(Repository.Root, "Directory.Build.props")).Descendants("Version").Single().Value;
            var package = Path.Combine(output, $"{id}.{version}.nupkg");
            Assert.True(File.Exists(Path.Combine(output, $"{id}.{version}.snupkg")), $"no symbols package beside {package}");
            using var zip = ZipFile.OpenRead(package);
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

            Assert.Equal(id, Field("id"));
            Assert.Equal(version, Field("version"));
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")));
            Assert.StartsWith("https://", metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("url")!.Value, StringComparison.Ordinal);
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
