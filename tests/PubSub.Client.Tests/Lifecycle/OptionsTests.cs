namespace PubSub.Client.Tests.Lifecycle;

public sealed class OptionsTests
{
    [Fact]
    public void Bad_options_fail_when_the_client_is_created()
    {
        var uri = new Uri("http://127.0.0.1:9/pubsub");

        Assert.Throws<ArgumentException>(() => new PubSubClient(uri, With(o => o.Transports.Clear())));
        Assert.Throws<ArgumentException>(() => new PubSubClient(uri, With(o => o.Transports.Add(PubSubTransport.WebSocket))));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PubSubClient(uri, With(o => o.RequestTimeout = TimeSpan.Zero)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PubSubClient(uri, With(o => o.SendQueueCapacity = 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PubSubClient(uri, With(o => o.RememberFallbackFor = TimeSpan.FromSeconds(-1))));
        Assert.Throws<ArgumentException>(() => new PubSubClient(new Uri("/pubsub", UriKind.Relative)));
        Assert.Throws<ArgumentException>(() => new PubSubClient(new Uri("ftp://example.com/pubsub")));
    }

    [Fact]
    public void The_upgrade_probe_interval_is_positive_or_off()
    {
        var uri = new Uri("http://127.0.0.1:9/pubsub");

        Assert.Equal(TimeSpan.FromSeconds(30), new PubSubClientOptions().UpgradeProbeInterval);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PubSubClient(uri, With(o => o.UpgradeProbeInterval = TimeSpan.Zero)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PubSubClient(uri, With(o => o.UpgradeProbeInterval = TimeSpan.FromSeconds(-1))));
        using var _ = new Disposer(new PubSubClient(uri, With(o => o.UpgradeProbeInterval = null)), out var off);
    }

    [Fact]
    public void A_websocket_uri_is_accepted_for_the_prefix()
    {
        using var _ = new Disposer(new PubSubClient(new Uri("wss://example.com/pubsub")), out var client);

        Assert.Equal(new Uri("https://example.com/pubsub"), client.Uri);
    }

    [Theory]
    [InlineData(1, PubSubTransport.WebSocket, 2000)]
    [InlineData(1, PubSubTransport.LongPolling, 2000)]
    [InlineData(400, PubSubTransport.WebSocket, 3200)]
    [InlineData(400, PubSubTransport.LongPolling, 2000)]
    [InlineData(5000, PubSubTransport.WebSocket, 10000)]
    public void Transport_timeouts_follow_the_round_trip_within_bounds(int roundTripMs, PubSubTransport transport, int expectedMs)
    {
        using var _ = new Disposer(new PubSubClient(new Uri("http://127.0.0.1:9/pubsub")), out var client);

        var timeout = client.AttemptTimeout(transport, TimeSpan.FromMilliseconds(roundTripMs));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), timeout);
    }

    private static PubSubClientOptions With(Action<PubSubClientOptions> change)
    {
        var options = new PubSubClientOptions();
        change(options);
        return options;
    }

    private readonly struct Disposer : IDisposable
    {
        private readonly PubSubClient _client;

        public Disposer(PubSubClient client, out PubSubClient value) => _client = value = client;

        public void Dispose() => _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
