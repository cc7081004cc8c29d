using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace PubSub.Testing;

/// <summary>
/// A library packed with <c>dotnet pack --no-build</c> (of the build the tests run on) into a
/// folder of its own, with its package's nuspec metadata and entries to check; the folder goes
/// with <see cref="DisposeAsync"/>.
/// </summary>
public sealed class PackedLibrary : IAsyncDisposable
{
    private readonly string _output;
    private readonly XElement _metadata;

    private PackedLibrary(string output, string id, string version, XElement metadata, IReadOnlyList<string> entries)
    {
        _output = output;
        Id = id;
        Version = version;
        _metadata = metadata;
        Entries = entries;
    }

    public string Id { get; }

    /// <summary>The version Directory.Build.props sets.</summary>
    public string Version { get; }

    /// <summary>The paths inside the package.</summary>
    public IReadOnlyList<string> Entries { get; }

    /// <summary>Whether the symbols package was made beside it.</summary>
    public bool HasSymbols => File.Exists(Path.Combine(_output, $"{Id}.{Version}.snupkg"));

    /// <summary>A nuspec metadata field's text, or null.</summary>
    public string? Field(string name) => _metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

    /// <summary>The repository URL of the nuspec.</summary>
    public string? RepositoryUrl => _metadata.Elements().SingleOrDefault(e => e.Name.LocalName == "repository")?.Attribute("url")?.Value;

    /// <summary>An entry's text, such as the XML documentation.</summary>
    public string ReadEntry(string path)
    {
        using var zip = ZipFile.OpenRead(Path.Combine(_output, $"{Id}.{Version}.nupkg"));
        using var reader = new StreamReader(zip.GetEntry(path)!.Open());
        return reader.ReadToEnd();
    }

    /// <param name="project">The project's path from the repository root.</param>
    /// <param name="id">The package id.</param>
    /// <param name="configuration">The configuration the tests were built in (Release or Debug).</param>
    public static async Task<PackedLibrary> PackAsync(string project, string id, string configuration)
    {
        var output = System.IO.Directory.CreateTempSubdirectory("pubsub-pack-").FullName;
        using var pack = Process.Start(new ProcessStartInfo("dotnet", ["pack", Path.Combine(Repository.Root, project), "-c", configuration, "--no-build", "-o", output, "-nologo"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var log = await pack.StandardOutput.ReadToEndAsync() + await pack.StandardError.ReadToEndAsync();
        await pack.WaitForExitAsync().WithTimeout("dotnet pack", TimeSpan.FromSeconds(60));
        if (pack.ExitCode != 0)
        {
            System.IO.Directory.Delete(output, recursive: true);
            throw new InvalidOperationException($"dotnet pack {project} failed: {log}");
        }
        var version = XDocument.Load(Path.Combine(Repository.Root, "Directory.Build.props")).Descendants("Version").Single().Value;
        using var zip = ZipFile.OpenRead(Path.Combine(output, $"{id}.{version}.nupkg"));
        var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return new PackedLibrary(output, id, version, metadata, [.. zip.Entries.Select(e => e.FullName)]);
    }

    public ValueTask DisposeAsync()
    {
        System.IO.Directory.Delete(_output, recursive: true);
        return ValueTask.CompletedTask;
    }
}
