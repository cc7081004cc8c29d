namespace PubSub.Testing;

/// <summary>The "field:value" lines of INFO and CLUSTER INFO.</summary>
internal static class RedisInfo
{
    public static async Task<IReadOnlyDictionary<string, string>> ReadAsync(RedisServer server, params string[] command) =>
        Parse((string?)await server.ExecuteAsync(command) ?? "");

    public static IReadOnlyDictionary<string, string> Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && !line.StartsWith('#'))
            {
                fields[line[..colon]] = line[(colon + 1)..];
            }
        }
        return fields;
    }
}
