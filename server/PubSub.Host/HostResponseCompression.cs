using System.IO.Compression;
using Microsoft.AspNetCore.ResponseCompression;

namespace PubSub.Host;

/// <summary>
/// <c>Host:ResponseCompression</c>: gzip or Brotli for long-polling answers (and the JSON of
/// negotiate, errors and the server API) when the client accepts it; Server-Sent Events only with
/// <c>EventStream</c> as well. Off by default. WebSocket messages are compressed by
/// <c>PubSub:WebSocketCompression</c> instead (permessage-deflate); a 101 answer has no body to
/// compress. docs/deployment.md ("Compression") has the costs and the security note.
/// </summary>
internal static class HostResponseCompression
{
    public const string Section = "Host:ResponseCompression";

    /// <summary>What long-polling, negotiate, error bodies and the server API answer with.</summary>
    private static readonly string[] s_mimeTypes = ["text/plain", "application/json"];

    public static void AddResponseCompressionIfEnabled(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(Section);
        if (!section.GetValue<bool>("Enabled"))
        {
            return;
        }
        builder.Services.AddResponseCompression(options =>
        {
            // Without it nothing is compressed over https, where production traffic is; what that
            // risks (BREACH) is in the docs, and why publications are a case of it.
            options.EnableForHttps = true;
            options.Providers.Add<BrotliCompressionProvider>();
            options.Providers.Add<GzipCompressionProvider>();
            // An event stream holds its compressor for as long as it is open (docs/deployment.md
            // has the measured size), so it is compressed only when asked for.
            options.MimeTypes = section.GetValue<bool>("EventStream") ? [.. s_mimeTypes, "text/event-stream"] : s_mimeTypes;
        });
        // The providers' default, and the right one for small, frequent answers: the best levels
        // cost several times the CPU for a few percent on JSON frames.
        builder.Services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        builder.Services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
    }

    public static void UseResponseCompressionIfEnabled(this WebApplication app)
    {
        if (app.Configuration.GetSection(Section).GetValue<bool>("Enabled"))
        {
            app.UseResponseCompression();
        }
    }
}
