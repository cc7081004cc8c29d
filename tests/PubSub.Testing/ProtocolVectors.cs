using System.Text.Json;
using Xunit;

namespace PubSub.Testing;

/// <summary>
/// The protocol's machine-readable facts in protocol/ at the repository root (its README says
/// which side reads what). Every side's tests read the same files, so a fact changed in one place
/// fails every side that disagrees.
/// </summary>
public static class ProtocolVectors
{
    public static string Directory => Path.Combine(Repository.Root, "protocol");

    /// <summary>A file of protocol/, parsed, for example <c>frames/server.json</c>.</summary>
    public static JsonElement Read(string file) =>
        JsonSerializer.Deserialize<JsonElement>(File.ReadAllText(Path.Combine(Directory, file)));

    /// <summary>The entries of an array property of a file, for xunit theories: each as (name, entry).</summary>
    public static TheoryData<string, string> Cases(string file, string list)
    {
        var cases = new TheoryData<string, string>();
        foreach (var entry in Read(file).GetProperty(list).EnumerateArray())
        {
            var name = entry.TryGetProperty("name", out var n) ? n.GetString()!
                : entry.TryGetProperty("code", out var c) ? c.ToString()
                : entry.ToString();
            cases.Add(name, entry.GetRawText());
        }
        return cases;
    }

    /// <summary>The error codes of protocol/error-codes.json that <paramref name="from"/> (<c>server</c> or <c>client</c>) raises, with their retry rule.</summary>
    public static IReadOnlyList<(string Code, string Retry, int? Http)> ErrorCodes(string from) =>
        [.. Read("error-codes.json").GetProperty("codes").EnumerateArray()
            .Where(c => c.GetProperty("from").GetString() == from)
            .Select(c => (c.GetProperty("code").GetString()!, c.GetProperty("retry").GetString()!, c.TryGetProperty("http", out var h) ? (int?)h.GetInt32() : null))];
}
