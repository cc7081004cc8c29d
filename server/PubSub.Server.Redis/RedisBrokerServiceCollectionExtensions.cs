using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub;
using PubSub.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis broker.</summary>
public static class RedisBrokerServiceCollectionExtensions
{
    /// <summary>
    /// Uses Redis as the broker, so that every node connected to the same Redis shares channels,
    /// history and node-to-node messages: <c>services.AddPubSub(...).AddRedisBroker("127.0.0.1:6379")</c>.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string, such as <c>127.0.0.1:6379</c>.</param>
    public static IPubSubBuilder AddRedisBroker(this IPubSubBuilder builder, string configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        return builder.AddRedisBroker(options => options.Configuration = configuration);
    }

    /// <summary>Uses Redis as the broker, with the options bound from a configuration section (such as <c>PubSub:Redis</c>).</summary>
    public static IPubSubBuilder AddRedisBroker(this IPubSubBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return builder.AddRedisBroker(section.Bind);
    }

    /// <summary>Uses Redis as the broker, configured by <paramref name="configure"/>.</summary>
    public static IPubSubBuilder AddRedisBroker(this IPubSubBuilder builder, Action<RedisBrokerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RedisBrokerOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisBrokerOptions>, RedisBrokerOptionsValidator>());
        services.Replace(ServiceDescriptor.Singleton<IBroker>(provider => new RedisBroker(
            provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value,
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<RedisBroker>>())));
        return builder;
    }
}
