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
        var configuration = HostProcess.HostAssembly.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        await using var package = await PackedLibrary.PackAsync(project, id, configuration);

        Assert.True(package.HasSymbols, $"no symbols package beside {id}.{package.Version}.nupkg");
        Assert.Equal(id, package.Field("id"));
        Assert.Equal(package.Version, package.Field("version"));
        Assert.Equal("MIT", package.Field("license"));
        Assert.Equal("README.md", package.Field("readme"));
        Assert.False(string.IsNullOrWhiteSpace(package.Field("description")));
        Assert.StartsWith("https://", package.RepositoryUrl, StringComparison.Ordinal);
        Assert.Contains("README.md", package.Entries);
        Assert.Contains($"lib/net10.0/{id}.xml", package.Entries);
    }
}
