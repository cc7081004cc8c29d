using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Clients;

public enum BenchTransport
{
    WebSocket,
    Sse,
    LongPolling,
}

/// <summary>
/// A server the generator can drive: how it opens a connection on each transport and subscribes
/// it to a channel. PubSub (docs/protocol.md, section 3), the SignalR reference hub and the raw
/// Kestrel broadcaster.
/// </summary>
public abstract class BenchTarget
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public abstract WireProtocol Protocol { get; }

    public string Name => Protocol.Name;

    /// <summary>Whether WebSocket connections offer permessage-deflate.</summary>
    public bool Deflate { get; private init; }

    /// <param name="messagePack">Speak the server's MessagePack protocol instead of JSON (WebSocket only).</param>
    public static BenchTarget Create(string name, string? path, bool messagePack = false, bool deflate = false) => name switch
    {
        "pubsub" => new PubSubTarget(path ?? "/pubsub", messagePack) { Deflate = deflate },
        "signalr" => new SignalRTarget(path ?? "/hub", messagePack) { Deflate = deflate },
        "raw" when messagePack => throw new ArgumentException("The raw reference speaks JSON only."),
        "raw" => new RawTarget(path ?? "/ws") { Deflate = deflate },
        _ => throw new ArgumentException($"Unknown target '{name}': use pubsub, signalr or raw."),
    };

    /// <summary>Opens a connection and waits until the server confirmed the session (or handshake).</summary>
    public Task<BenchClient> OpenAsync(Uri server, BenchTransport transport, IPAddress? source, HttpClient http, CancellationToken cancellationToken) =>
        OpenCoreAsync(server, transport, channel: null, source, stats: null, http, cancellationToken);

    /// <summary>Opens a connection that is subscribed to <paramref name="channel"/> when this returns.</summary>
    public async Task<BenchClient> OpenSubscriberAsync(
        Uri server, BenchTransport transport, string channel, IPAddress? source, SubscriberStats stats, HttpClient http, CancellationToken cancellationToken)
    {
        var client = await OpenCoreAsync(server, transport, channel, source, stats, http, cancellationToken);
        try
        {
            if (!SubscribesOnOpen(transport))
            {
                var reply = await client.RequestAsync(id => Protocol.Subscribe(channel, id), RequestTimeout);
                if (reply.Failed)
                {
                    throw new InvalidOperationException($"Subscribing to '{channel}' failed: {reply.Text}");
                }
            }
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether <paramref name="transport"/> subscribes through the opening request (PubSub's SSE and poll URLs).</summary>
    protected abstract bool SubscribesOnOpen(BenchTransport transport);

    protected abstract Task<BenchClient> OpenCoreAsync(
        Uri server, BenchTransport transport, string? channel, IPAddress? source, SubscriberStats? stats, HttpClient http, CancellationToken cancellationToken);

    protected static Uri WebSocketUri(Uri server, string path) => new($"ws://{server.Authority}{path}");

    protected static async Task<BenchClient> WaitConnectedAsync(BenchClient client, CancellationToken cancellationToken)
    {
        try
        {
            await client.Connected.WaitAsync(RequestTimeout, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}

/// <summary>A PubSub node: WebSocket at {prefix}/ws, SSE at {prefix}/sse, long-polling at {prefix}/poll.</summary>
public sealed class PubSubTarget(string prefix, bool messagePack) : BenchTarget
{
    private string Subprotocol => messagePack ? "pubsub.msgpack" : "pubsub.json";

    public override WireProtocol Protocol => messagePack ? PubSubMessagePackProtocol.Instance : PubSubProtocol.Instance;

    protected override bool SubscribesOnOpen(BenchTransport transport) => transport != BenchTransport.WebSocket;

    protected override async Task<BenchClient> OpenCoreAsync(
        Uri server, BenchTransport transport, string? channel, IPAddress? source, SubscriberStats? stats, HttpClient http, CancellationToken cancellationToken)
    {
        var query = channel is null ? "" : $"?channel={Uri.EscapeDataString(channel)}";
        Uri Send(BenchClient c) => new(server, $"{prefix}/send?session={Uri.EscapeDataString(c.SessionId ?? "")}");
        BenchClient client = transport switch
        {
            BenchTransport.WebSocket => await WebSocketClient.ConnectAsync(
                WebSocketUri(server, $"{prefix}/ws"), Protocol, Subprotocol, Deflate, source, stats, cancellationToken),
            BenchTransport.Sse => await SseClient.OpenAsync(http, new Uri(server, $"{prefix}/sse{query}"), Send, Protocol, stats, cancellationToken),
            _ => PollClient.Start(
                http,
                c => c.SessionId is null
                    ? new Uri(server, $"{prefix}/poll{query}")
                    : new Uri(server, $"{prefix}/poll?session={Uri.EscapeDataString(c.SessionId)}&ack={c.FramesReceived}"),
                Send, Protocol, stats),
        };
        await WaitConnectedAsync(client, cancellationToken);
        if (channel is not null && SubscribesOnOpen(transport))
        {
            try
            {
                await client.Subscribed.WaitAsync(RequestTimeout, cancellationToken);
            }
            catch
            {
                await client.DisposeAsync();
                throw;
            }
        }
        return client;
    }
}

/// <summary>
/// The SignalR reference hub at {path}: WebSocket without negotiation (SignalR accepts it when
/// WebSockets is the transport), SSE and long-polling after <c>POST {path}/negotiate</c>.
/// </summary>
public sealed class SignalRTarget(string path, bool messagePack) : BenchTarget
{
    public override WireProtocol Protocol => messagePack ? SignalRMessagePackProtocol.Instance : SignalRProtocol.Instance;

    protected override bool SubscribesOnOpen(BenchTransport transport) => false;

    protected override async Task<BenchClient> OpenCoreAsync(
        Uri server, BenchTransport transport, string? channel, IPAddress? source, SubscriberStats? stats, HttpClient http, CancellationToken cancellationToken)
    {
        if (transport == BenchTransport.WebSocket)
        {
            var socket = await WebSocketClient.ConnectAsync(WebSocketUri(server, path), Protocol, subprotocol: null, Deflate, source, stats, cancellationToken);
            return await WaitConnectedAsync(socket, cancellationToken);
        }

        var token = await NegotiateAsync(http, server, cancellationToken);
        var connection = new Uri(server, $"{path}?id={Uri.EscapeDataString(token)}");
        BenchClient client = transport == BenchTransport.Sse
            ? await SseClient.OpenAsync(http, connection, _ => connection, Protocol, stats, cancellationToken)
            : PollClient.Start(http, _ => connection, _ => connection, Protocol, stats);
        try
        {
            await client.SendAsync(Protocol.Handshake!, cancellationToken);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
        return await WaitConnectedAsync(client, cancellationToken);
    }

    private async Task<string> NegotiateAsync(HttpClient http, Uri server, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync(new Uri(server, $"{path}/negotiate?negotiateVersion=1"), content: null, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return body.GetProperty("connectionToken").GetString()
            ?? throw new InvalidOperationException("The negotiate response has no connectionToken.");
    }
}

/// <summary>bench/RawReference at {path}: WebSocket only, one channel for all (what fan-out needs).</summary>
public sealed class RawTarget(string path) : BenchTarget
{
    public override WireProtocol Protocol => RawProtocol.Instance;

    protected override bool SubscribesOnOpen(BenchTransport transport) => false;

    protected override async Task<BenchClient> OpenCoreAsync(
        Uri server, BenchTransport transport, string? channel, IPAddress? source, SubscriberStats? stats, HttpClient http, CancellationToken cancellationToken)
    {
        if (transport != BenchTransport.WebSocket)
        {
            throw new NotSupportedException("The raw reference serves WebSocket only.");
        }
        var socket = await WebSocketClient.ConnectAsync(WebSocketUri(server, path), Protocol, subprotocol: null, Deflate, source, stats, cancellationToken);
        return await WaitConnectedAsync(socket, cancellationToken);
    }
}
