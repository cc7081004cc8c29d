using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PubSub;
using PubSub.Api;
using PubSub.Brokers;
using PubSub.Channels;
using PubSub.Cluster;
using PubSub.Control;
using PubSub.Diagnostics;
using PubSub.Health;
using PubSub.Http;
using PubSub.Limits;
using PubSub.Node;
using PubSub.Sessions;
using PubSub.Transports;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers PubSub's services.</summary>
public static class PubSubServiceCollectionExtensions
{
    /// <summary>
    /// Adds a PubSub node with the in-memory broker. Map its endpoints with
    /// <c>app.MapPubSub("/pubsub")</c>, and the server API with <c>app.MapPubSubApi("/api")</c>.
    /// </summary>
    public static IPubSubBuilder AddPubSub(this IServiceCollection services, Action<PubSubOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsBuilder = services.AddOptions<PubSubOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        var builder = new PubSubBuilder(services);
        if (services.Any(d => d.ServiceType == typeof(PubSubMarker)))
        {
            return builder;
        }

        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PubSubOptions>, PubSubOptionsValidator>());
        services.AddRouting();
        services.AddAuthorization();
        services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>(PubSubHealthChecks.Broker, tags: [PubSubHealthChecks.ReadyTag])
            .Add(new HealthCheckRegistration(PubSubHealthChecks.Drain, provider => provider.GetRequiredService<NodeDrain>(), null, [PubSubHealthChecks.ReadyTag]));
        // The drain runs inside the host's shutdown: give it the time it is configured to take.
        services.AddOptions<HostOptions>().PostConfigure<IOptions<PubSubOptions>>((host, pubsub) =>
        {
            var drain = pubsub.Value.Drain;
            var needed = drain.Delay + drain.Window + TimeSpan.FromSeconds(5);
            if (drain.IsEnabled && host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IBroker>(provider => new MemoryBroker(new MemoryBackplane(provider.GetRequiredService<TimeProvider>()), ownsBackplane: true));

        services.AddSingleton<PubSubMarker>();
        services.AddMetrics();
        services.AddSingleton<PubSubMetrics>();
        services.AddSingleton<MeasuredBroker>(provider => new(provider.GetRequiredService<IBroker>(), provider.GetRequiredService<PubSubMetrics>()));
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<ChannelRegistry>();
        services.AddSingleton<ChannelHub>();
        services.AddSingleton<HookRunner>();
        services.AddSingleton<ChannelPublisher>();
        services.AddSingleton<IPubSubPublisher>(provider => provider.GetRequiredService<ChannelPublisher>());
        services.AddSingleton<ConnectionLimiter>();
        services.AddSingleton<PublishLimiter>();
        services.AddSingleton<SessionAdmission>();
        services.AddSingleton<SessionRegistry>();
        services.AddSingleton<NodeHeartbeat>();
        services.AddSingleton<BrokerInbox>();
        services.AddHostedService<PubSubNode>();
        services.AddSingleton<NodeDrain>();
        services.AddHostedService(provider => provider.GetRequiredService<NodeDrain>());
        services.AddSingleton<SessionFrameHandler>();
        services.AddSingleton<PubSub.Stomp.StompFrameHandler>();
        services.AddSingleton<OriginPolicy>();
        services.AddSingleton<RequestBodyReader>();
        services.AddSingleton<WebSocketTransport>();
        services.AddSingleton<NegotiateEndpoint>();
        services.AddSingleton<SessionBootstrap>();
        services.AddSingleton<ServerSentEventsTransport>();
        services.AddSingleton<LongPollingTransport>();
        services.AddSingleton<SessionRequestHandler>();
        services.AddSingleton<SessionForwarder>();
        services.AddSingleton<INodeMessageHandler>(provider => provider.GetRequiredService<SessionForwarder>());
        services.AddSingleton<NodeControl>();
        services.AddSingleton<NodeRequests>();
        services.AddSingleton<INodeMessageHandler>(provider => provider.GetRequiredService<NodeRequests>());
        services.AddSingleton<PubSubControl>();
        services.AddSingleton<IPubSubControl>(provider => provider.GetRequiredService<PubSubControl>());
        services.AddSingleton<SessionEndpoints>();
        services.AddSingleton<ApiKeyGuard>();
        services.AddSingleton<ServerApi>();
        services.AddSingleton<ControlApi>();
        // Made only if something maps MapPubSubStats(): until then no listener taxes the hot paths.
        services.AddSingleton<NodeSnapshot>();
        return builder;
    }

    /// <summary>
    /// Uses an in-memory broker on <paramref name="backplane"/>. Nodes in one process that share a
    /// backplane see each other's publications, history and sessions, as they would through Redis.
    /// </summary>
    public static IPubSubBuilder AddMemoryBroker(this IPubSubBuilder builder, MemoryBackplane backplane)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(backplane);
        builder.Services.Replace(ServiceDescriptor.Singleton<IBroker>(_ => new MemoryBroker(backplane, ownsBackplane: false)));
        return builder;
    }

    private sealed class PubSubBuilder(IServiceCollection services) : IPubSubBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

/// <summary>Shows that AddPubSub() ran, so MapPubSub() can say what is missing.</summary>
internal sealed class PubSubMarker;
