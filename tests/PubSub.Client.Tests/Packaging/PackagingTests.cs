using System.Reflection;
using System.Runtime.CompilerServices;
using System.Xml.Linq;

namespace PubSub.Client.Tests.Packaging;

/// <summary>
/// PubSub.Client packs as NuGet users expect: with the metadata from Directory.Build.props, its
/// own README (client-dotnet/README.md) as the package's readme, symbols, and XML documentation
/// for every public member.
/// </summary>
public sealed class PackagingTests
{
    [Fact]
    public async Task The_client_packs_with_its_readme_metadata_symbols_and_docs_for_every_public_member()
    {
        var configuration = typeof(PackagingTests).Assembly.Location.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

        await using var package = await PackedLibrary.PackAsync("client-dotnet/PubSub.Client/PubSub.Client.csproj", "PubSub.Client", configuration);

        Assert.Equal("PubSub.Client", package.Field("id"));
        Assert.Equal(package.Version, package.Field("version"));
        Assert.Equal("MIT", package.Field("license"));
        Assert.Equal("README.md", package.Field("readme"));
        Assert.False(string.IsNullOrWhiteSpace(package.Field("description")));
        Assert.StartsWith("https://", package.RepositoryUrl, StringComparison.Ordinal);
        Assert.True(package.HasSymbols, "no symbols package");
        Assert.Contains("README.md", package.Entries);
        Assert.Equal(File.ReadAllText(Path.Combine(Repository.Root, "client-dotnet", "README.md")), package.ReadEntry("README.md"));
        var documented = XDocument.Parse(package.ReadEntry("lib/net10.0/PubSub.Client.xml"))
            .Descendants("member").Select(m => m.Attribute("name")!.Value).ToHashSet(StringComparer.Ordinal);
        var undocumented = PublicMembers(typeof(PubSubClient).Assembly).Where(id => !documented.Any(d => d == id || d.StartsWith(id + "(", StringComparison.Ordinal) || d.StartsWith(id + "``", StringComparison.Ordinal))).ToList();
        Assert.True(undocumented.Count == 0, $"undocumented: {string.Join(", ", undocumented)}");
    }

    /// <summary>The documentation ids (without parameter lists) of the public surface a reader sees; what the compiler writes (records' members, implicit constructors) is left out, as CS1591 leaves it.</summary>
    private static IEnumerable<string> PublicMembers(Assembly assembly)
    {
        foreach (var type in assembly.GetExportedTypes())
        {
            var name = type.FullName!.Replace('+', '.');
            yield return $"T:{name}";
            const BindingFlags declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var member in type.GetMembers(declared))
            {
                // A class's implicit parameterless constructor has no source to document.
                if (member.IsDefined(typeof(CompilerGeneratedAttribute)) || member is MethodInfo { IsSpecialName: true } || member is Type
                    || member is ConstructorInfo { IsStatic: false } ctor && ctor.GetParameters().Length == 0
                    || (type.IsEnum && member.Name == "value__") || member.Name is "EqualityContract" or "Deconstruct" or "Equals" or "GetHashCode" or "ToString" && IsRecord(type))
                {
                    continue;
                }
                var prefix = member switch
                {
                    ConstructorInfo => "M",
                    MethodInfo => "M",
                    PropertyInfo => "P",
                    FieldInfo => "F",
                    EventInfo => "E",
                    _ => null,
                };
                if (prefix is not null)
                {
                    var memberName = member is ConstructorInfo ? "#ctor" : member.Name;
                    yield return $"{prefix}:{name}.{memberName}";
                }
            }
        }
    }

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null || type.GetProperty("EqualityContract", BindingFlags.NonPublic | BindingFlags.Instance) is not null
        || (type.IsValueType && type.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null);
}
