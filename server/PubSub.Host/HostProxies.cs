using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace PubSub.Host;

/// <summary>
/// Behind a TLS-terminating proxy (a load balancer in HTTP mode, nginx, an ingress) the node sees
/// plain http from the proxy's address, so a browser on <c>https://site.example</c> looks
/// cross-origin to the origin rule and is refused with 403, and every client has the proxy's IP.
/// With <c>Host:ForwardedHeaders:KnownProxies</c> (IP addresses) or <c>KnownNetworks</c> (CIDR)
/// set, the node takes <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c> from those
/// addresses, and only from those: anyone else could claim any scheme, host or client address.
/// Nothing set, nothing trusted (docs/deployment.md, "Behind a TLS-terminating proxy").
/// </summary>
internal static class HostProxies
{
    private const string Section = "Host:ForwardedHeaders";

    /// <summary>Early in the pipeline, so everything after it (the origin rule, the loopback check of /debug/memory) sees the client's view.</summary>
    public static void UseForwardedHeadersIfConfigured(this WebApplication app)
    {
        var section = app.Configuration.GetSection(Section);
        var proxies = List(section, "KnownProxies");
        var networks = List(section, "KnownNetworks");
        if (proxies.Count == 0 && networks.Count == 0)
        {
            return;
        }
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost,
            // One proxy in front (the default): the right-most X-Forwarded-For entry is the one it added.
            ForwardLimit = section.GetValue("ForwardLimit", 1),
        };
        // ASP.NET Core trusts loopback by default; here only what the operator lists is trusted.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var (key, value) in proxies)
        {
            options.KnownProxies.Add(IPAddress.TryParse(value, out var address)
                ? address
                : throw new InvalidOperationException($"{key} is '{value}', which is not an IP address (a proxy's address, such as 10.0.0.5)."));
        }
        foreach (var (key, value) in networks)
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(value, out var network)
                ? network
                : throw new InvalidOperationException($"{key} is '{value}', which is not a network in CIDR notation (such as 10.0.0.0/8)."));
        }
        // X-Forwarded-Host is the host the browser used; AllowedHosts (checked against the proxy's
        // own Host header before this runs) does not see it, so it can be restricted here too.
        foreach (var (_, host) in List(section, "AllowedHosts"))
        {
            options.AllowedHosts.Add(host);
        }
        app.UseForwardedHeaders(options);
    }

    /// <summary>
    /// A list from configuration, with its keys for error messages: <c>KnownProxies:0</c>,
    /// <c>:1</c>, ... (<c>Host__ForwardedHeaders__KnownProxies__0</c> in the environment), or one
    /// comma-separated value, which is easier to write in a compose file.
    /// </summary>
    private static List<(string Key, string Value)> List(IConfigurationSection section, string name)
    {
        var list = section.GetSection(name);
        var items = list.GetChildren().Where(c => !string.IsNullOrWhiteSpace(c.Value)).Select(c => (c.Path, c.Value!.Trim())).ToList();
        if (!string.IsNullOrWhiteSpace(list.Value))
        {
            items.AddRange(list.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => (list.Path, v)));
        }
        return items;
    }
}
