using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PubSub;
using PubSub.Api;
using PubSub.Http;
using PubSub.Cluster;
using PubSub.Health;
using PubSub.Transports;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps PubSub's endpoints.</summary>
public static class PubSubEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the client endpoints under <paramref name="prefix"/>: <c>ws</c> (and, as configured,
    /// the other transports). Returns a builder for conventions that apply to all of them, such as
    /// <c>.RequireAuthorization(...)</c>.
    /// </summary>
    public static IEndpointConventionBuilder MapPubSub(this IEndpointRouteBuilder endpoints, string prefix = "/pubsub")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        EnsureServices(endpoints, nameof(MapPubSub));
        var services = endpoints.ServiceProvider;
        var transports = services.GetRequiredService<IOptions<PubSubOptions>>().Value.Transports;
        var origins = services.GetRequiredService<OriginPolicy>();
        var group = endpoints.MapGroup(prefix);

        // Every endpoint goes through the origin rule, which also answers OPTIONS (CORS preflights
        // and any other), so no handler runs for one.
        void Map(string pattern, string[] methods, RequestDelegate handler) =>
            group.MapMethods(pattern, [.. methods, HttpMethods.Options], origins.Guard(methods, handler));

        Map("negotiate", [HttpMethods.Get], services.GetRequiredService<NegotiateEndpoint>().HandleAsync);

        if (transports.HasFlag(PubSubTransports.WebSocket))
        {
            // The upgrade needs the WebSockets middleware; it runs in the endpoint's own pipeline so
            // the application does not have to remember app.UseWebSockets().
            var pipeline = endpoints.CreateApplicationBuilder();
            pipeline.UseWebSockets();
            pipeline.Run(services.GetRequiredService<WebSocketTransport>().HandleAsync);
            Map("ws", [HttpMethods.Get, HttpMethods.Connect], pipeline.Build());
        }

        var sessions = services.GetRequiredService<SessionEndpoints>();
        if (transports.HasFlag(PubSubTransports.ServerSentEvents))
        {
            Map("sse", [HttpMethods.Get], services.GetRequiredService<ServerSentEventsTransport>().HandleAsync);
        }
        if (transports.HasFlag(PubSubTransports.LongPolling))
        {
            Map("poll", [HttpMethods.Get], sessions.PollAsync);
        }
        if (transports.HasFlag(PubSubTransports.ServerSentEvents) || transports.HasFlag(PubSubTransports.LongPolling))
        {
            Map("send", [HttpMethods.Post], sessions.SendAsync);
        }
        return group;
    }

    /// <summary>
    /// Maps the server API for back-end code under <paramref name="prefix"/>: <c>POST publish</c>
    /// and <c>GET history</c>, and the control endpoints (<see cref="IPubSubControl"/>): <c>POST
    /// disconnect</c>, <c>unsubscribe</c>, <c>subscribe</c>, <c>broadcast</c>, <c>GET channels</c>,
    /// <c>info</c>, <c>presence</c> and <c>presence_stats</c>. It is guarded by <see cref="PubSubOptions.ApiKey"/>, by an authorization
    /// policy put on the returned builder, or both; with neither it refuses every call. Each
    /// endpoint declares its request and response bodies, so an application that adds an OpenAPI
    /// document (<c>AddOpenApi()</c>, as the Host does) describes them.
    /// </summary>
    public static IEndpointConventionBuilder MapPubSubApi(this IEndpointRouteBuilder endpoints, string prefix = "/api")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        EnsureServices(endpoints, nameof(MapPubSubApi));
        var api = endpoints.ServiceProvider.GetRequiredService<ServerApi>();
        var control = endpoints.ServiceProvider.GetRequiredService<ControlApi>();
        var group = endpoints.MapGroup(prefix).WithTags("PubSub server API");

        // Delegates rather than RequestDelegates, so the endpoints carry their method for API
        // descriptions; the query parameters are named for the same reason (the handlers read the
        // query themselves, with the protocol's error bodies).
        Post(group, "publish", (HttpContext context) => api.PublishAsync(context), typeof(PublishBody), typeof(PositionBody),
            "Publishes to a channel; with an idempotencyKey, once per key within the channel's window.");
        Get(group, "history", (HttpContext context, string? channel, string? epoch, string? offset, string? limit) => api.HistoryAsync(context), typeof(HistoryBody),
            "Reads a channel's retained publications after a position (epoch and offset, together), at most limit (1–1000, default 100).");
        Post(group, "disconnect", (HttpContext context) => control.DisconnectAsync(context), typeof(DisconnectBody), typeof(SessionsBody),
            "Ends the sessions of a user (on every node) or one session, with a code (default 4500) and reason.");
        Post(group, "unsubscribe", (HttpContext context) => control.UnsubscribeAsync(context), typeof(UnsubscribeBody), typeof(SessionsBody),
            "Ends a user's (or one session's) subscriptions to a channel; each session gets 'unsubscribed'.");
        Post(group, "subscribe", (HttpContext context) => control.SubscribeAsync(context), typeof(SubscribeBody), typeof(SessionsBody),
            "Subscribes a user's (or one session's) live sessions to a channel; each gets 'subscribed'.");
        Post(group, "broadcast", (HttpContext context) => control.BroadcastAsync(context), typeof(BroadcastBody), typeof(BroadcastAnswerBody),
            "Publishes one payload to up to 100 channels; each gets its own offset, or an error.");
        Get(group, "channels", (HttpContext context, string? pattern) => control.ChannelsAsync(context), typeof(ChannelsBody),
            "The channels with subscribers (at most 1,000, in order), filtered by a pattern ('*' any run, '?' one character), with subscriber counts summed over the nodes.");
        Get(group, "info", (HttpContext context) => control.InfoAsync(context), typeof(InfoBody),
            "The live nodes, each with its sessions by transport and its uptime in seconds.");
        Get(group, "presence", (HttpContext context, string? channel, string? limit) => control.PresenceAsync(context), typeof(PresenceBody),
            "Who is subscribed to a channel whose template keeps presence, on every node: at most limit (1–1000, default 1000) members, in no particular order, and whether there are more.");
        Get(group, "presence_stats", (HttpContext context, string? channel) => control.PresenceStatsAsync(context), typeof(PresenceStatsBody),
            "How many clients, and distinct signed-in users, are subscribed to a channel whose template keeps presence.");
        return group;
    }

    /// <summary>The statuses every server API endpoint may answer with an error body.</summary>
    private static readonly int[] s_apiErrors = [400, 401, 403, 404, 408, 409, 413, 429, 503, 504];

    private static void Post(RouteGroupBuilder group, string pattern, Delegate handler, Type request, Type response, string summary) =>
        Describe(group.MapPost(pattern, handler).Accepts(request, "application/json"), pattern, response, summary);

    private static void Get(RouteGroupBuilder group, string pattern, Delegate handler, Type response, string summary) =>
        Describe(group.MapGet(pattern, handler), pattern, response, summary);

    private static void Describe(RouteHandlerBuilder endpoint, string name, Type response, string summary)
    {
        endpoint.WithName("pubsub-" + name).WithSummary(summary).Produces(StatusCodes.Status200OK, response, "application/json");
        foreach (var status in s_apiErrors)
        {
            endpoint.Produces<ErrorBody>(status, "application/json");
        }
    }

    /// <summary>
    /// Maps the node's health endpoints under <paramref name="prefix"/>: <c>{prefix}/live</c>
    /// answers 200 while the process runs (for a supervisor that restarts what hangs);
    /// <c>{prefix}/ready</c> answers 200 when the node can serve clients and 503 with the reason
    /// as JSON when it cannot (its broker is unreachable, for example), for load balancers; and
    /// <c>{prefix}</c> itself answers as <c>ready</c> does. Every check tagged
    /// <see cref="PubSubHealthChecks.ReadyTag"/> counts for readiness.
    /// </summary>
    public static IEndpointConventionBuilder MapPubSubHealthChecks(this IEndpointRouteBuilder endpoints, string prefix = "/healthz")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        EnsureServices(endpoints, nameof(MapPubSubHealthChecks));
        var group = endpoints.MapGroup(prefix);
        var ready = new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(PubSubHealthChecks.ReadyTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        };
        group.MapHealthChecks("live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthReportWriter.WriteAsync });
        group.MapHealthChecks("ready", ready);
        group.MapHealthChecks("", ready);
        return group;
    }

    /// <summary>
    /// Guards endpoints the way the server API is guarded (for an operator's endpoints such as
    /// <c>/metrics</c>): callers send <see cref="PubSubOptions.ApiKey"/> in <c>X-API-Key</c> or as
    /// <c>Authorization: Bearer</c>; with no key configured only an authorization policy on the
    /// endpoints opens them, and without one every call gets 403.
    /// </summary>
    public static TBuilder RequirePubSubApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint =>
        {
            var next = endpoint.RequestDelegate ?? throw new InvalidOperationException($"RequirePubSubApiKey() needs an endpoint with a handler ({endpoint.DisplayName}).");
            endpoint.RequestDelegate = async context =>
            {
                var guard = context.RequestServices.GetService<ApiKeyGuard>()
                    ?? throw new InvalidOperationException("RequirePubSubApiKey() needs PubSub's services: call 'builder.Services.AddPubSub(...)'.");
                if (await guard.AuthorizeAsync(context, $"{context.Request.Path} is closed: configure PubSub:ApiKey, or put an authorization policy on it."))
                {
                    await next(context);
                }
            };
        });
        return builder;
    }

    private static void EnsureServices(IEndpointRouteBuilder endpoints, string method)
    {
        if (endpoints.ServiceProvider.GetService<PubSubMarker>() is null)
        {
            throw new InvalidOperationException(
                $"{method}() needs PubSub's services: call 'builder.Services.AddPubSub(...)' before building the application.");
        }
    }
}
