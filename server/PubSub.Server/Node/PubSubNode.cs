using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Diagnostics;
using PubSub.Protocol;
using PubSub.Sessions;

namespace PubSub.Node;

/// <summary>
/// This process's node as the host starts and stops it: it connects the broker, runs the
/// heartbeat, and when the host stops tells every client to reconnect elsewhere, then disconnects.
/// The parts are services of their own: <see cref="SessionRegistry"/>, <see cref="NodeHeartbeat"/>,
/// the publisher, the channel hub.
/// </summary>
internal sealed partial class PubSubNode(
    NodeIdentity identity,
    MeasuredBroker broker,
    BrokerInbox inbox,
    SessionRegistry sessions,
    NodeHeartbeat heartbeat,
    IOptions<PubSubOptions> options,
    ILogger<PubSubNode> logger,
    IHostApplicationLifetime? lifetime = null) : IHostedService
{
    private CancellationTokenRegistration _stopping;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await broker.StartAsync(identity.Id, inbox, cancellationToken);
        heartbeat.Start();
        // Long-lived connections would hold up the server's drain until its timeout and then be cut
        // without a word. Telling every client to reconnect the moment shutdown begins lets them
        // go at once, to another node.
        // With a drain configured, NodeDrain moves them gradually instead.
        if (!options.Value.Drain.IsEnabled)
        {
            _stopping = lifetime?.ApplicationStopping.Register(static state => ((SessionRegistry)state!).CloseAll(DisconnectReason.Shutdown), sessions) ?? default;
        }
        Log.NodeStarted(logger, identity.Id, broker.Name);
        if (options.Value.Channels.Count == 0)
        {
            // Valid, but almost certainly a configuration that was not found or not bound.
            Log.NoChannelTemplates(logger);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.DisposeAsync();
        heartbeat.Dispose();
        sessions.CloseAll(DisconnectReason.Shutdown);
        await broker.StopAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "PubSub node {NodeId} started with {Broker}.")]
        public static partial void NodeStarted(ILogger logger, string nodeId, string broker);

        [LoggerMessage(6, LogLevel.Warning, "No channel template is configured, so every channel is refused with unknown_channel. Add templates with o.Channel(...) in AddPubSub, or in configuration (the Host binds PubSub:Channels from its appsettings.json and environment variables).")]
        public static partial void NoChannelTemplates(ILogger logger);
    }
}
