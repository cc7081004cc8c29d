namespace PubSub.Host;

/// <summary>
/// <c>Host:DemoNames</c>, for the demo chat at <c>/</c> only: a session opened with a <c>name</c>
/// query parameter (<c>/pubsub/ws?name=ann</c>) gets <c>{"name":"ann"}</c> as its connection info,
/// which presence lists and join/leave frames carry as <c>info</c>. The name is whatever the
/// client says, cut to <see cref="MaxNameLength"/> characters: it names nobody, so it is a label
/// for the demo, never an identity. An application takes display names from its authentication
/// in its own <c>OnConnect</c> hook (README, "Presence"); turn this off with
/// <c>Host__DemoNames=false</c>.
/// </summary>
internal static class HostDemoNames
{
    public const string Section = "Host:DemoNames";

    /// <summary>Long enough for a display name, short enough that every presence entry stays small.</summary>
    public const int MaxNameLength = 32;

    public static void UseDemoNamesIfEnabled(this PubSubOptions options, IConfiguration configuration)
    {
        if (!configuration.GetValue<bool>(Section))
        {
            return;
        }
        options.OnConnect = context =>
        {
            var name = context.HttpContext.Request.Query["name"].ToString().Trim();
            if (name.Length > 0)
            {
                context.ConnectionInfo = Payload.FromValue(new Dictionary<string, string> { ["name"] = Shorten(name) });
            }
            return ValueTask.CompletedTask;
        };
    }

    /// <summary>The name cut to <see cref="MaxNameLength"/>, never between the two halves of a surrogate pair (that would not be valid text).</summary>
    private static string Shorten(string name)
    {
        if (name.Length <= MaxNameLength)
        {
            return name;
        }
        var length = char.IsHighSurrogate(name[MaxNameLength - 1]) ? MaxNameLength - 1 : MaxNameLength;
        return name[..length];
    }
}
