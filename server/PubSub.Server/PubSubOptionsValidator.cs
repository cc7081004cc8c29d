using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Options;

namespace PubSub;

/// <summary>Checks the options at start-up, so a bad configuration fails loudly and at once.</summary>
/// <param name="authentication">The application's authentication schemes: some settings are unsafe with some schemes.</param>
internal sealed class PubSubOptionsValidator(IOptions<AuthenticationOptions> authentication) : IValidateOptions<PubSubOptions>
{
    public ValidateOptionsResult Validate(string? name, PubSubOptions options)
    {
        var failures = new List<string>();
        if (options.NodeId is not null && !Ids.IsValidNodeId(options.NodeId))
        {
            failures.Add($"NodeId '{options.NodeId}' must be 1 to 64 ASCII letters or digits.");
        }
        RequirePositive(options.PingInterval, nameof(options.PingInterval), failures);
        RequirePositive(options.PongTimeout, nameof(options.PongTimeout), failures);
        RequirePositive(options.PollTimeout, nameof(options.PollTimeout), failures);
        RequirePositive(options.PollGracePeriod, nameof(options.PollGracePeriod), failures);
        RequirePositive(options.RequestBodyTimeout, nameof(options.RequestBodyTimeout), failures);
        if (options.MaxMessageSize < 256)
        {
            failures.Add($"MaxMessageSize must be at least 256 bytes (it is {options.MaxMessageSize}).");
        }
        if (options.NodeRequestTimeout <= TimeSpan.Zero)
        {
            failures.Add("NodeRequestTimeout must be positive.");
        }
        if (options.MaxChannelLength is < 1 or > 4096)
        {
            failures.Add($"MaxChannelLength must be from 1 to 4096 (it is {options.MaxChannelLength}).");
        }
        if (options.MaxSubscriptionsPerSession < 1)
        {
            failures.Add("MaxSubscriptionsPerSession must be at least 1.");
        }
        if (options.OutboundBufferLimit < 2L * options.MaxMessageSize)
        {
            // A message's frame is its data (binary as base64, a third larger) and a small envelope.
            failures.Add($"OutboundBufferLimit ({options.OutboundBufferLimit}) must be at least twice MaxMessageSize ({options.MaxMessageSize}), so that a message of the largest size, in its frame, always fits.");
        }
        RequirePositive(options.WriteTimeout, nameof(options.WriteTimeout), failures);
        if (options.WriteDelay < TimeSpan.Zero || options.WriteDelay > PubSubOptions.MaxWriteDelay)
        {
            failures.Add($"WriteDelay must be from 0 to {PubSubOptions.MaxWriteDelay.TotalMilliseconds} ms (it is {options.WriteDelay.TotalMilliseconds} ms).");
        }
        if (options.Transports == PubSubTransports.None)
        {
            failures.Add("Transports must enable at least one transport.");
        }
        foreach (var origin in options.AllowedOrigins)
        {
            if (origin != "*" && !(Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.AbsolutePath == "/" && uri.Query.Length == 0))
            {
                failures.Add($"AllowedOrigins: '{origin}' is not an origin such as 'https://app.example.com' (or '*').");
            }
        }
        if (options.AllowedOrigins.Contains("*") && CookieSchemes() is { Count: > 0 } cookies)
        {
            // CORS without credentials would keep cookies off HTTP requests, but a browser sends
            // cookies on a WebSocket upgrade from any page, whatever CORS says: with '*' any site
            // could open a session as its visitor.
            failures.Add(
                $"AllowedOrigins '*' cannot be used with cookie authentication (scheme {string.Join(", ", cookies.Select(c => $"'{c}'"))}): " +
                "a browser sends the cookie on a WebSocket upgrade from any site, so any site could act as the signed-in user. " +
                "List the origins that may connect instead (AllowedOrigins: ['https://app.example.com', ...]).");
        }

        ValidateLimits(options.Limits, failures);
        if (options.Drain.Delay < TimeSpan.Zero || options.Drain.Window < TimeSpan.Zero)
        {
            failures.Add("Drain:Delay and Drain:Window must not be negative.");
        }

        var templates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var channel in options.Channels)
        {
            ValidateChannel(channel, templates, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateChannel(ChannelOptions channel, HashSet<string> templates, List<string> failures)
    {
        var template = channel.Template;
        if (string.IsNullOrWhiteSpace(template))
        {
            failures.Add("A channel has no Template.");
            return;
        }
        if (!templates.Add(template))
        {
            failures.Add($"Channel template '{template}' is configured twice.");
        }
        if (template.StartsWith('/'))
        {
            failures.Add($"Channel template '{template}' must not start with '/': channel names do not.");
        }
        try
        {
            var pattern = RoutePatternFactory.Parse(template);
            if (channel.UserParameter is { } user && pattern.GetParameter(user) is null)
            {
                failures.Add($"Channel template '{template}': UserParameter '{user}' is not one of its parameters.");
            }
        }
        catch (RoutePatternException e)
        {
            failures.Add($"Channel template '{template}' is not a valid route pattern: {e.Message}");
        }
        if (channel.IdempotencyWindow <= TimeSpan.Zero)
        {
            failures.Add($"Channel template '{template}': IdempotencyWindow must be positive.");
        }
        if (channel.JoinLeaveRate <= 0)
        {
            failures.Add($"Channel template '{template}': JoinLeaveRate must be positive.");
        }
        if (channel.HistorySize < 0)
        {
            failures.Add($"Channel template '{template}': HistorySize must not be negative.");
        }
        if (channel.HistorySize > 0 && channel.HistoryTtl <= TimeSpan.Zero)
        {
            failures.Add($"Channel template '{template}': HistorySize is set, so HistoryTtl must be positive.");
        }
    }

    private static void ValidateLimits(PubSubLimits limits, List<string> failures)
    {
        foreach (var (name, value) in new (string, double)[]
        {
            (nameof(limits.MaxConnections), limits.MaxConnections),
            (nameof(limits.MaxConnectionsPerUser), limits.MaxConnectionsPerUser),
            (nameof(limits.MaxConnectionsPerIp), limits.MaxConnectionsPerIp),
            (nameof(limits.ConnectsPerSecondPerIp), limits.ConnectsPerSecondPerIp),
            (nameof(limits.ConnectBurstPerIp), limits.ConnectBurstPerIp),
            (nameof(limits.PublishesPerSecondPerSession), limits.PublishesPerSecondPerSession),
            (nameof(limits.PublishesPerSecondPerUser), limits.PublishesPerSecondPerUser),
            (nameof(limits.PublishBurst), limits.PublishBurst),
            (nameof(limits.MaxSubscribersPerChannel), limits.MaxSubscribersPerChannel),
        })
        {
            if (value < 0 || double.IsNaN(value))
            {
                failures.Add($"Limits:{name} must be 0 (no limit) or more (it is {value}).");
            }
        }
    }

    private List<string> CookieSchemes() =>
        [.. authentication.Value.Schemes
            .Where(scheme => scheme.HandlerType is { } handler && typeof(CookieAuthenticationHandler).IsAssignableFrom(handler))
            .Select(scheme => scheme.Name)];

    private static void RequirePositive(TimeSpan value, string name, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{name} must be positive (it is {value}).");
        }
    }
}
