using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace PubSub.Server.Tests.Transports;

/// <summary>
/// The WebSocket handoff (<c>UsePubSubHandoff</c>): a session whose handshake went through the
/// pipeline leaves the HTTP layer and runs on the connection itself, and where it cannot (TLS set
/// up after the middleware, permessage-deflate, no middleware) it upgrades inside the request as
/// before. Every other WebSocket test runs on TestNode, which hands sessions over as the Host does.
/// </summary>
public sealed class WebSocketHandoffTests
{
    [Fact]
    public async Task A_session_leaves_the_HTTP_layer_after_its_handshake_and_serves_as_before()
    {
        await using var node = await TestNode.StartAsync();
        await using var alice = await node.ConnectAsync();
        await using var bob = await node.ConnectAsync();

        await AssertRoundTripAsync(alice, bob);
        Assert.Equal(2, node.HandedOverSessions);
    }

    [Fact]
    public async Task Without_the_middleware_a_session_upgrades_inside_its_request_and_serves_the_same()
    {
        await using var node = await TestNode.StartAsync(host: b => b.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(_ => { })));
        await using var alice = await node.ConnectAsync();
        await using var bob = await node.ConnectAsync();

        await AssertRoundTripAsync(alice, bob);
        Assert.Equal(0, node.HandedOverSessions);
    }

    [Fact]
    public async Task Headers_the_pipeline_sets_reach_the_client_in_the_101()
    {
        await using var node = await TestNode.StartAsync(map: app =>
        {
            // As a cookie or affinity middleware would: a header added when the response starts.
            app.Use((context, next) =>
            {
                context.Response.OnStarting(() =>
                {
                    context.Response.Headers["X-Handshake"] = "seen";
                    return Task.CompletedTask;
                });
                return next(context);
            });
            app.MapPubSub("/pubsub");
        });

        await using var client = await WsClient.ConnectAsync(node.WebSocketUri, configure: o => o.CollectHttpResponseDetails = true);

        Assert.Equal("seen", client.ResponseHeader("X-Handshake"));
        await client.PingAsync();
        Assert.Equal(1, node.HandedOverSessions);
    }

    [Fact]
    public async Task A_handshake_whose_response_fails_to_start_gets_a_500_and_its_place_back_and_no_session_opens()
    {
        await using var node = await TestNode.StartAsync(o => o.Limits.MaxConnections = 1, map: app =>
        {
            app.Use((context, next) =>
            {
                if (context.Request.Query.ContainsKey("fail"))
                {
                    context.Response.OnStarting(() => throw new InvalidOperationException("a response callback failed"));
                }
                return next(context);
            });
            app.MapPubSub("/pubsub");
        });

        var refused = await WsClient.RefusedUpgradeAsync(new Uri(node.WebSocketUri + "?fail=1"));

        Assert.Equal(HttpStatusCode.InternalServerError, refused.Status);
        Assert.Equal(0, node.SessionCount);
        // The one place under MaxConnections comes back once the HTTP layer is done with the
        // connection, which can be just after the client read its 500: the next client gets in.
        WsClient? client = null;
        await Timeouts.Until(async () =>
        {
            try
            {
                client = await node.ConnectAsync();
                return true;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }, "a client to get the place back");
        await using var _ = client!;
        await client!.PingAsync();
        Assert.Equal(1, node.HandedOverSessions);
    }

    [Fact]
    public async Task A_connection_that_served_HTTP_requests_first_is_handed_over_and_nothing_of_the_HTTP_answer_reaches_the_socket()
    {
        await using var node = await TestNode.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, node.BaseUri.Port);
        var stream = tcp.GetStream();
        var host = node.BaseUri.Authority;

        // A keep-alive request first: the HTTP layer answers it as usual.
        await WriteAsync(stream, $"GET /pubsub/negotiate HTTP/1.1\r\nHost: {host}\r\n\r\n");
        var negotiated = await ReadHeadersAsync(stream);
        Assert.StartsWith("HTTP/1.1 200", negotiated, StringComparison.Ordinal);
        var length = int.Parse(negotiated.Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)).Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await stream.ReadExactlyAsync(new byte[length]).AsTask().WithTimeout("the negotiate body");

        // Then the upgrade on the same connection.
        // RFC 6455, section 1.3: the sample nonce and the answer it must get.
        const string key = "dGhlIHNhbXBsZSBub25jZQ==";
        await WriteAsync(stream, $"GET /pubsub/ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            $"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: pubsub.json\r\n\r\n");
        var upgraded = await ReadHeadersAsync(stream);
        Assert.StartsWith("HTTP/1.1 101", upgraded, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", upgraded, StringComparison.Ordinal);
        Assert.Contains("Sec-WebSocket-Protocol: pubsub.json", upgraded, StringComparison.Ordinal);

        // The first bytes after the 101 are the session's frames, not the HTTP layer's own answer.
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { SubProtocol = "pubsub.json", KeepAliveInterval = TimeSpan.Zero });
        await using var alice = await WsClient.OverAsync(socket);
        await using var bob = await node.ConnectAsync();
        await AssertRoundTripAsync(alice, bob);
        Assert.Equal(2, node.HandedOverSessions);
    }

    [Fact]
    public async Task With_TLS_set_up_after_the_middleware_a_session_upgrades_inside_its_request()
    {
        using var certificate = SelfSignedCertificate();
        // As the Host's https endpoints are: the endpoint defaults (the handoff) come before UseHttps.
        await using var node = await TestNode.StartAsync(host: b => b.WebHost.ConfigureKestrel(k =>
            k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate))));
        await using var alice = await ConnectTlsAsync(node);
        await using var bob = await ConnectTlsAsync(node);

        await AssertRoundTripAsync(alice, bob);
        Assert.Equal(0, node.HandedOverSessions);
    }

    [Fact]
    public async Task With_TLS_set_up_before_the_middleware_a_session_is_handed_over_and_stays_encrypted()
    {
        using var certificate = SelfSignedCertificate();
        await using var node = await TestNode.StartAsync(host: b => b.WebHost.ConfigureKestrel(k =>
        {
            k.ConfigureEndpointDefaults(_ => { });
            k.Listen(IPAddress.Loopback, 0, l =>
            {
                l.UseHttps(certificate);
                l.UsePubSubHandoff();
            });
        }));
        await using var alice = await ConnectTlsAsync(node);
        await using var bob = await ConnectTlsAsync(node);

        await AssertRoundTripAsync(alice, bob);
        Assert.Equal(2, node.HandedOverSessions);
    }

    private static async Task AssertRoundTripAsync(WsClient alice, WsClient bob)
    {
        await bob.SubscribeAsync("chat/lobby");
        await alice.PublishAsync("chat/lobby", new { text = "hi" });
        var message = await bob.NextOfTypeAsync("message");
        Assert.Equal("hi", message.GetProperty("data").GetProperty("text").GetString());
        await alice.PingAsync();
    }

    private static Task<WsClient> ConnectTlsAsync(TestNode node) =>
        WsClient.ConnectAsync(new Uri($"wss://{node.BaseUri.Authority}/pubsub/ws"),
            configure: o => o.RemoteCertificateValidationCallback = (_, _, _, errors) => errors is SslPolicyErrors.None or SslPolicyErrors.RemoteCertificateChainErrors);

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // An ephemeral key cannot serve TLS on every platform: round-trip through PKCS #12.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    /// <summary>Reads up to the blank line that ends a response's headers, one byte at a time so nothing after it is taken.</summary>
    private static async Task<string> ReadHeadersAsync(NetworkStream stream)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (!text.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await stream.ReadExactlyAsync(one).AsTask().WithTimeout("a response's headers");
            text.Append((char)one[0]);
        }
        return text.ToString();
    }
}
