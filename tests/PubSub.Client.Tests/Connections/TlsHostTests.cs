using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Connections;

/// <summary>
/// The Host serving https and wss itself, from configuration alone (Kestrel:Endpoints:Https with a
/// certificate file, as docs/deployment.md shows), with a self-signed certificate made here: the
/// .NET client (trusting that one certificate through its HttpMessageHandler) and client-js in a
/// real headless Chromium both connect over each transport and receive a publication.
/// </summary>
public sealed class TlsHostTests(TlsHostTests.TlsHost tls) : IClassFixture<TlsHostTests.TlsHost>
{
    /// <summary>One Host with an http and an https endpoint, and the certificate it serves.</summary>
    public sealed class TlsHost : IAsyncLifetime
    {
        public const string Key = "tls-test-key";

        private string _directory = null!;

        public HostProcess Host { get; private set; } = null!;

        public X509Certificate2 Certificate { get; private set; } = null!;

        public int HttpsPort { get; private set; }

        public Uri HttpsUri => new($"https://127.0.0.1:{HttpsPort}/");

        public async Task InitializeAsync()
        {
            _directory = Directory.CreateTempSubdirectory("pubsub-tls-").FullName;
            Certificate = SelfSigned();
            var pfx = Path.Combine(_directory, "node.pfx");
            const string Password = "test-password";
            await File.WriteAllBytesAsync(pfx, Certificate.Export(X509ContentType.Pfx, Password));

            var httpPort = FreePort.Next();
            HttpsPort = FreePort.Next();
            Host = await HostProcess.StartAsync(new Dictionary<string, string>
            {
                ["PubSub__ApiKey"] = Key,
                // Kestrel's endpoints replace the Urls address; http stays for HostProcess's readiness wait.
                ["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{httpPort}",
                ["Kestrel__Endpoints__Https__Url"] = $"https://127.0.0.1:{HttpsPort}",
                ["Kestrel__Endpoints__Https__Certificate__Path"] = pfx,
                ["Kestrel__Endpoints__Https__Certificate__Password"] = Password,
            }, port: httpPort);
            if (!await FreePort.WaitUntilListeningAsync(HttpsPort, "the Host's https endpoint"))
            {
                throw new InvalidOperationException($"The Host does not listen on https: {Host.Output}");
            }
        }

        public async Task DisposeAsync()
        {
            await Host.DisposeAsync();
            Certificate.Dispose();
            Directory.Delete(_directory, recursive: true);
        }

        /// <summary>A handler that trusts this certificate, and no other that no authority signed.</summary>
        public SocketsHttpHandler TrustingHandler() => new()
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    errors == SslPolicyErrors.None || (certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == Certificate.GetCertHashString(HashAlgorithmName.SHA256)),
            },
        };

        public async Task PublishAsync(string channel, object data)
        {
            using var http = new HttpClient(TrustingHandler()) { BaseAddress = HttpsUri, Timeout = Timeouts.Default };
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/publish") { Content = JsonContent.Create(new { channel, data }) };
            request.Headers.Add("X-API-Key", Key);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }

        /// <summary>For 127.0.0.1 and localhost, as a test's own authority would issue it.</summary>
        private static X509Certificate2 SelfSigned()
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(System.Net.IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        }
    }

    [Theory, AllTransports]
    public async Task The_dotnet_client_connects_over_https_and_wss_and_receives_a_publication(PubSubTransport transport)
    {
        using var handler = tls.TrustingHandler();
        var channel = $"chat/tls-dotnet-{transport}";
        await using var client = ClientHarness.Create(new Uri(tls.HttpsUri, "pubsub"), transport, o => o.HttpMessageHandler = handler);
        await client.ConnectAsync().WithTimeout("connect over TLS");
        await using var subscription = await client.SubscribeAsync(channel);

        await tls.PublishAsync(channel, new { n = 1 });

        Assert.Equal(transport, client.Transport);
        Assert.Equal(1, (await subscription.ReadAsync(1))[0].N());
    }

    [Fact]
    public async Task A_client_that_does_not_trust_the_certificate_does_not_connect()
    {
        await using var client = ClientHarness.Create(new Uri(tls.HttpsUri, "pubsub"), PubSubTransport.WebSocket, o => o.ReconnectPolicy = null);

        var failed = await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync().WithTimeout("a refused connect"));

        // Refused for the certificate, not for anything else.
        var chain = new List<Exception>();
        for (Exception? e = failed; e is not null; e = e.InnerException)
        {
            chain.Add(e);
        }
        Assert.True(chain.Any(e => e is System.Security.Authentication.AuthenticationException), failed.ToString());
        Assert.NotEqual(PubSubClientState.Connected, client.State);
    }

    [Theory]
    [InlineData("websocket")]
    [InlineData("sse")]
    [InlineData("long-polling")]
    public async Task Client_js_in_a_browser_connects_over_https_and_wss_and_receives_a_publication(string transport)
    {
        await using var browser = await HeadlessChromium.StartAsync(ignoreCertificateErrors: true);
        var room = "tls-js-" + transport;

        // The Host's demo page: client-js on the page's own origin, so "pubsub" resolves to https/wss.
        await browser.NavigateAsync($"{tls.HttpsUri}?room={room}&name=tester&transport={transport}");
        await browser.UntilAsync(
            $"document.getElementById('status').dataset.state === 'connected' && document.getElementById('status').dataset.transport === {JsonSerializer.Serialize(transport)}",
            $"the page is connected over {transport}");
        Assert.Equal("https:", (await browser.EvaluateAsync("location.protocol")).GetString());

        // Published after the page connected; the page subscribes from where its history read
        // ended, so the publication reaches it whether it comes live or as the subscription's replay.
        await tls.PublishAsync($"chat/{room}", new { name = "server", text = "over tls" });

        await browser.UntilAsync("document.getElementById('log').textContent.includes('server: over tls')", "the publication shows on the page");
    }
}
