using System.Threading.Channels;

namespace PubSub.Client.Tests.Support;

/// <summary>Clients for test nodes, with reconnects fast enough for tests, and the waits tests need.</summary>
internal static class ClientHarness
{
    /// <summary>Reconnects within a few tens of milliseconds: tests wait on events, not on backoff.</summary>
    public static ExponentialBackoffReconnectPolicy FastReconnect() => new(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200));

    public static readonly PubSubTransport[] AllTransports = [PubSubTransport.WebSocket, PubSubTransport.ServerSentEvents, PubSubTransport.LongPolling];

    public static Uri PubSubUri(this TestNode node) => new(node.BaseUri, "pubsub");

    /// <summary>A client for <paramref name="uri"/> limited to <paramref name="transport"/> (all, in the default order, when null).</summary>
    public static PubSubClient Create(Uri uri, PubSubTransport? transport = null, Action<PubSubClientOptions>? configure = null)
    {
        var options = new PubSubClientOptions { ReconnectPolicy = FastReconnect() };
        if (transport is { } only)
        {
            options.Transports.Clear();
            options.Transports.Add(only);
        }
        configure?.Invoke(options);
        return new PubSubClient(uri, options);
    }

    public static async Task<PubSubClient> ConnectAsync(TestNode node, PubSubTransport? transport = null, Action<PubSubClientOptions>? configure = null)
    {
        var client = Create(node.PubSubUri(), transport, configure);
        await client.ConnectAsync().WithTimeout("the client to connect");
        return client;
    }

    /// <summary>The next <paramref name="count"/> messages of a subscription.</summary>
    public static async Task<List<PubSubMessage>> ReadAsync(this PubSubSubscription subscription, int count)
    {
        var messages = new List<PubSubMessage>(count);
        while (messages.Count < count)
        {
            messages.Add(await subscription.Reader.ReadAsync().AsTask().WithTimeout($"message {messages.Count + 1} of {count} on '{subscription.Channel}'"));
        }
        return messages;
    }

    /// <summary>Publishes <c>{"n": i}</c> for each i through the node's in-process publisher.</summary>
    public static async Task PublishNumbersAsync(this TestNode node, string channel, IEnumerable<int> numbers)
    {
        foreach (var n in numbers)
        {
            await node.Publisher.PublishAsync(channel, new { n });
        }
    }

    public static int N(this PubSubMessage message) => message.Data.GetProperty("n").GetInt32();
}

/// <summary>Records a client's state changes and errors, so a test can wait for one.</summary>
internal sealed class ClientEvents
{
    private readonly Channel<PubSubStateChangedEventArgs> _states = Channel.CreateUnbounded<PubSubStateChangedEventArgs>();
    private readonly Channel<Exception> _errors = Channel.CreateUnbounded<Exception>();
    private readonly List<PubSubStateChangedEventArgs> _all = [];

    public ClientEvents(PubSubClient client)
    {
        client.StateChanged += (_, e) =>
        {
            lock (_all)
            {
                _all.Add(e);
            }
            _states.Writer.TryWrite(e);
        };
        client.Error += (_, e) => _errors.Writer.TryWrite(e.Error);
    }

    public List<PubSubStateChangedEventArgs> All
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    /// <summary>The next change to <paramref name="state"/>, skipping others.</summary>
    public async Task<PubSubStateChangedEventArgs> NextAsync(PubSubClientState state)
    {
        while (true)
        {
            var change = await _states.Reader.ReadAsync().AsTask().WithTimeout($"the client to become {state}");
            if (change.State == state)
            {
                return change;
            }
        }
    }

    public async Task<Exception> NextErrorAsync() => await _errors.Reader.ReadAsync().AsTask().WithTimeout("an Error event");
}
