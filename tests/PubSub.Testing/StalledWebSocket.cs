using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PubSub.Testing;

/// <summary>
/// A WebSocket client over a bare socket with a tiny receive buffer, for clients that stop
/// reading: after the handshake and the <c>connected</c> frame it reads only when told to, so the
/// server's writes back up after a few kilobytes instead of filling megabytes of loopback buffers.
/// It can send text frames (masked, as RFC 6455 requires of a client).
/// </summary>
public sealed class StalledWebSocket : IAsyncDisposable
{
    private const int ReceiveBuffer = 4096;

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private StalledWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>The session id from the <c>connected</c> frame.</summary>
    public string SessionId { get; private set; } = "";

    /// <summary>Connects to <c>/pubsub/ws</c>, completes the handshake and reads the <c>connected</c> frame.</summary>
    public static async Task<StalledWebSocket> ConnectAsync(Uri baseUri)
    {
        var tcp = new TcpClient { ReceiveBufferSize = ReceiveBuffer };
        await tcp.ConnectAsync(IPAddress.Loopback, baseUri.Port).WithTimeout("a TCP connection");
        var client = new StalledWebSocket(tcp);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = $"GET /pubsub/ws HTTP/1.1\r\nHost: {baseUri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pubsub.json\r\n\r\n";
        await client._stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var response = await client.ReadHeadersAsync().WithTimeout("the WebSocket handshake");
        if (!response.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The upgrade was refused: {response}");
        }
        var connected = JsonSerializer.Deserialize<JsonElement>(await client.ReadMessageAsync().WithTimeout("the connected frame"));
        client.SessionId = connected.GetProperty("session").GetString()!;
        return client;
    }

    /// <summary>Sends one text message.</summary>
    public async Task SendAsync(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        var header = new List<byte> { 0x81 };
        if (payload.Length < 126)
        {
            header.Add((byte)(0x80 | payload.Length));
        }
        else
        {
            header.Add(0x80 | 126);
            header.Add((byte)(payload.Length >> 8));
            header.Add((byte)payload.Length);
        }
        var mask = RandomNumberGenerator.GetBytes(4);
        header.AddRange(mask);
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] ^= mask[i % 4];
        }
        await _stream.WriteAsync((byte[])[.. header, .. payload]).AsTask().WithTimeout("sending a message");
    }

    /// <summary>Reads one whole server message (unmasked, unfragmented), for the few a test wants to see.</summary>
    public async Task<string> ReadMessageAsync()
    {
        var head = await ReadExactlyAsync(2);
        long length = head[1] & 0x7F;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2));
        }
        else if (length == 127)
        {
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactlyAsync(8));
        }
        return Encoding.UTF8.GetString(await ReadExactlyAsync((int)length));
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var buffer = new byte[count];
        await _stream.ReadExactlyAsync(buffer);
        return buffer;
    }

    private async Task<string> ReadHeadersAsync()
    {
        var headers = new StringBuilder();
        var one = new byte[1];
        while (!headers.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            await _stream.ReadExactlyAsync(one);
            headers.Append((char)one[0]);
        }
        return headers.ToString();
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
