using System.Net;
using System.Reflection;
using System.Text;

namespace PubSub.Host;

/// <summary>
/// A live dashboard at <c>Host:Admin:Path</c> (default <c>/admin</c>), off unless
/// <c>Host:Admin:Enabled</c> is true: this node, its sessions by transport, its busiest channels
/// and its publication and delivery rates as small live charts (docs/deployment.md, "Dashboard").
/// The page is static (embedded in this assembly, so it works published, with <c>dotnet run</c>
/// and offline) and holds nothing; the numbers come from <c>{path}/api/stats</c>
/// (<see cref="PubSubStatsEndpointRouteBuilderExtensions.MapPubSubStats"/>), which wants the API key.
/// </summary>
internal static class AdminDashboard
{
    private const string Section = "Host:Admin";
    private const string DefaultPath = "/admin";

    // No inline script or style, nothing from elsewhere: the page cannot be made to run what it did not ship.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static void MapAdminIfEnabled(this WebApplication app)
    {
        var section = app.Configuration.GetSection(Section);
        if (!section.GetValue<bool>("Enabled"))
        {
            return;
        }
        var path = "/" + (section["Path"] ?? DefaultPath).Trim('/');
        var channels = section.GetValue("Channels", PubSubStatsEndpointRouteBuilderExtensions.DefaultMaxChannels);

        // The page's links are relative to <base>, so it works at whatever path it is mapped to.
        var page = Resource("index.html").Replace("{{base}}", WebUtility.HtmlEncode(path + "/"), StringComparison.Ordinal);
        var script = Resource("dashboard.js");
        var style = Resource("dashboard.css");

        // Routing matches "/admin/" too.
        app.MapGet(path, () => new PageResult(page, "text/html; charset=utf-8"));
        app.MapGet(path + "/dashboard.js", () => new PageResult(script, "text/javascript; charset=utf-8"));
        app.MapGet(path + "/dashboard.css", () => new PageResult(style, "text/css; charset=utf-8"));
        app.MapPubSubStats(path + "/api/stats", channels);
    }

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("PubSub.Host.Admin." + name)
            ?? throw new InvalidOperationException($"The dashboard's {name} is not embedded in PubSub.Host.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>A page or asset with the headers that keep it to itself.</summary>
    private sealed class PageResult(string content, string contentType) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            // The key may sit in the address's fragment; fragments are never sent, but be sure.
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-cache";
            context.Response.ContentType = contentType;
            return context.Response.WriteAsync(content);
        }
    }
}
