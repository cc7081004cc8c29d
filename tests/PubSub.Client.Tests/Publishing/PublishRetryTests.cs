using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Publishing;

/// <summary>
/// Publish idempotency keys and the retries they make safe: a publish whose reply was lost with
/// its connection, or that the server failed for now, is sent again with the same key and stored
/// once; refusals are not sent again; a key out of range never leaves the client.
/// </summary>
public sealed class PublishRetryTests
{
    private static string NewChannel() => "chat/" + Guid.NewGuid().ToString("N")[..8];

    private static Task<TestNode> StartAsync(IBroker broker, Action<PubSubOptions>? configure = null) =>
        TestNode.StartAsync(configure, services: b => b.Services.Replace(ServiceDescriptor.Singleton<IBroker>(broker)));

    [Theory, AllTransports]
    public async Task A_publish_whose_connection_drops_before_its_reply_is_sent_again_with_its_key_and_stored_once(PubSubTransport transport)
    {
        var broker = new RecordingBroker { HoldFirstReply = true };
        await using var node = await StartAsync(broker);
        await using var client = await ClientHarness.ConnectAsync(node, transport);
        var events = new ClientEvents(client);
        var channel = NewChannel();

        var publish = client.PublishAsync(channel, new { n = 1 });
        // The server stored it; its reply is held until the session is gone, so it never arrives.
        await broker.FirstStored.WithTimeout("the publish to be stored");
        node.CloseSession(client.SessionId!);
        await events.NextAsync(PubSubClientState.Reconnecting);
        broker.ReleaseFirstReply();
        var position = await publish.WithTimeout("the retried publish");
        var history = await client.GetHistoryAsync(channel).WithTimeout("the history");

        Assert.Equal([1], history.Publications.Select(m => m.N()));
        Assert.Equal(history.Publications[0].Position, position);
        var keys = broker.Keys(channel);
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
        Assert.Equal(22, keys[0]!.Length);
    }

    [Fact]
    public async Task A_publish_the_server_failed_for_now_is_sent_again_after_a_backoff()
    {
        var broker = new RecordingBroker { FailFirstWith = PubSubErrorCodes.Unavailable };
        await using var node = await StartAsync(broker);
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket, o => o.Encoding = PubSubEncoding.MessagePack);
        var channel = NewChannel();

        var position = await client.PublishAsync(channel, new { n = 1 }, "order-17").WithTimeout("the retried publish");
        var history = await client.GetHistoryAsync(channel).WithTimeout("the history");

        Assert.Equal(["order-17", "order-17"], broker.Keys(channel));
        Assert.Equal([position], history.Publications.Select(m => m.Position));
    }

    [Fact]
    public async Task A_refusal_is_not_sent_again()
    {
        var attempts = 0;
        await using var node = await TestNode.StartAsync(o => o.Channel("strict/{x}", c => c.AllowClientPublish().OnPublish(context =>
        {
            Interlocked.Increment(ref attempts);
            context.Reject("Not today.");
        })));
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket);

        var refused = await Assert.ThrowsAsync<PubSubException>(() => client.PublishAsync("strict/x", new { n = 1 }).WithTimeout("the refusal"));
        await client.PingAsync().WithTimeout("a round trip after it");

        Assert.Equal(PubSubErrorCodes.Forbidden, refused.Code);
        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task A_publish_with_the_same_key_again_is_not_published_again()
    {
        await using var node = await TestNode.StartAsync();
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.LongPolling);
        var channel = NewChannel();

        var first = await client.PublishAsync(channel, new { n = 1 }, "once").WithTimeout("the first publish");
        var second = await client.PublishAsync(channel, new { n = 2 }, "once").WithTimeout("the second publish");
        var history = await client.GetHistoryAsync(channel).WithTimeout("the history");

        Assert.Equal(first, second);
        Assert.Equal([1], history.Publications.Select(m => m.N()));
    }

    [Fact]
    public async Task With_retries_off_a_publish_carries_only_the_applications_key()
    {
        var broker = new RecordingBroker();
        await using var node = await StartAsync(broker);
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket, o => o.PublishRetries = 0);
        var channel = NewChannel();

        await client.PublishAsync(channel, new { n = 1 }).WithTimeout("the publish without a key");
        await client.PublishAsync(channel, new byte[] { 1, 2 }, "bytes-1").WithTimeout("the publish with one");

        Assert.Equal([null, "bytes-1"], broker.Keys(channel));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(129)]
    public async Task An_idempotency_key_out_of_range_is_refused_before_anything_is_sent(int length)
    {
        var broker = new RecordingBroker();
        await using var node = await StartAsync(broker);
        await using var client = await ClientHarness.ConnectAsync(node, PubSubTransport.WebSocket);
        await using var notConnected = ClientHarness.Create(node.PubSubUri());
        var channel = NewChannel();
        var key = new string('k', length);

        Assert.Throws<ArgumentException>(() => { _ = client.PublishAsync(channel, new { n = 1 }, key); });
        Assert.Throws<ArgumentException>(() => { _ = client.PublishAsync(channel, new byte[] { 1 }, key); });
        // The key is checked first: a client that is not connected says so only for a valid one.
        Assert.Throws<ArgumentException>(() => { _ = notConnected.PublishAsync(channel, new { n = 1 }, key); });
        await client.PublishAsync(channel, new { n = 2 }, new string('k', 128)).WithTimeout("a publish with the longest key");

        Assert.Equal([new string('k', 128)], broker.Keys(channel));
    }

    /// <summary>
    /// A memory broker that records every publish's key (null for none) and can fail the first
    /// keyed publish with a code, or hold its reply after storing it.
    /// </summary>
    private sealed class RecordingBroker : MemoryBrokerDecorator
    {
        private readonly ConcurrentDictionary<string, List<string?>> _keys = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _firstStored = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _releaseFirst = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _keyed;

        public bool HoldFirstReply { get; init; }

        public string? FailFirstWith { get; init; }

        public Task FirstStored => _firstStored.Task;

        public void ReleaseFirstReply() => _releaseFirst.TrySetResult();

        public List<string?> Keys(string channel)
        {
            var keys = _keys.GetOrAdd(channel, _ => []);
            lock (keys)
            {
                return [.. keys];
            }
        }

        public override ValueTask<PubSub.StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, CancellationToken cancellationToken)
        {
            Record(channel, null);
            return base.PublishAsync(channel, data, history, cancellationToken);
        }

        public override async ValueTask<PubSub.StreamPosition> PublishAsync(string channel, Payload data, HistoryOptions history, IdempotencyKey idempotency, CancellationToken cancellationToken)
        {
            Record(channel, idempotency.Key);
            var first = Interlocked.Increment(ref _keyed) == 1;
            if (first && FailFirstWith is { } code)
            {
                throw new PubSub.PubSubException(code, "The broker is down (a test's).");
            }
            var position = await Inner.PublishAsync(channel, data, history, idempotency, cancellationToken);
            if (first && HoldFirstReply)
            {
                _firstStored.TrySetResult();
                await _releaseFirst.Task.WaitAsync(cancellationToken);
            }
            return position;
        }

        private void Record(string channel, string? key)
        {
            var keys = _keys.GetOrAdd(channel, _ => []);
            lock (keys)
            {
                keys.Add(key);
            }
        }
    }
}
