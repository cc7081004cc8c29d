using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PubSub.Testing;

/// <summary>An HTTP/1.1 response as it came off the socket: status, headers (names lower-cased) and body.</summary>
public sealed record RawHttpResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// HTTP/1.1 over a bare TCP socket, for what HttpClient will not do: send a request's headers and
/// then hold, trickle or cut its body. Requests sent with <see cref="SendHeadersAsync"/> carry
/// <c>Expect: 100-continue</c>, and the server sends <c>100 Continue</c> when the application
/// starts reading the body, so a test knows when the server is waiting for it.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly MemoryStream _received = new();
    private readonly byte[] _buffer = new byte[8192];
    private int _position;

    private RawHttpConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri baseUri)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, baseUri.Port).WithTimeout("a TCP connection");
        return new RawHttpConnection(client);
    }

    /// <summary>Sends a request line and headers for a body of <paramref name="contentLength"/> bytes, then waits for <c>100 Continue</c>.</summary>
    public async Task SendHeadersAsync(string method, string path, int contentLength, string contentType = "text/plain", IReadOnlyDictionary<string, string>? headers = null)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{method} /{path.TrimStart('/')} HTTP/1.1\r\n")
            .Append(CultureInfo.InvariantCulture, $"Host: 127.0.0.1\r\nContent-Type: {contentType}\r\nContent-Length: {contentLength}\r\nExpect: 100-continue\r\n");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }
        await SendAsync(text.Append("\r\n").ToString());
        var interim = await ReadHeadAsync().WithTimeout("100 Continue (the server reading the body)");
        if (interim.Status != 100)
        {
            throw new InvalidOperationException($"Expected 100 Continue, got {interim.Status}.");
        }
    }

    /// <summary>Sends bytes as they are (part of a body, or anything else).</summary>
    public async Task SendAsync(string text)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask().WithTimeout("a write to the socket");
        await _stream.FlushAsync();
    }

    /// <summary>The final response (after any <c>100 Continue</c>), its body read by Content-Length, chunks, or to the connection's end.</summary>
    public async Task<RawHttpResponse> ReadResponseAsync()
    {
        var (status, headers) = await ReadHeadAsync();
        while (status == 100)
        {
            (status, headers) = await ReadHeadAsync();
        }
        string body;
        if (headers.TryGetValue("content-length", out var length))
        {
            body = Encoding.UTF8.GetString(await ReadBytesAsync(int.Parse(length, CultureInfo.InvariantCulture)));
        }
        else if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var chunks = new StringBuilder();
            while (int.Parse((await ReadLineAsync()).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) is var size and > 0)
            {
                chunks.Append(Encoding.UTF8.GetString(await ReadBytesAsync(size)));
                await ReadLineAsync();
            }
            await ReadLineAsync();
            body = chunks.ToString();
        }
        else
        {
            while (await FillAsync())
            {
            }
            body = Encoding.UTF8.GetString(_received.GetBuffer(), _position, (int)_received.Length - _position);
        }
        return new RawHttpResponse(status, headers, body);
    }

    /// <summary>Drops the connection with a reset, as a client that crashes or loses its network would.</summary>
    public void Abort()
    {
        _client.Client.LingerState = new LingerOption(true, 0);
        _client.Close();
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<(int Status, Dictionary<string, string> Headers)> ReadHeadAsync()
    {
        var statusLine = await ReadLineAsync();
        var status = int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var line = await ReadLineAsync(); line.Length > 0; line = await ReadLineAsync())
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        return (status, headers);
    }

    private async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var span = _received.GetBuffer().AsSpan(_position, (int)_received.Length - _position);
            var end = span.IndexOf("\r\n"u8);
            if (end >= 0)
            {
                var line = Encoding.ASCII.GetString(span[..end]);
                _position += end + 2;
                return line;
            }
            if (!await FillAsync())
            {
                throw new IOException("The server closed the connection in the middle of a response.");
            }
        }
    }

    private async Task<byte[]> ReadBytesAsync(int count)
    {
        while (_received.Length - _position < count)
        {
            if (!await FillAsync())
            {
                throw new IOException("The server closed the connection in the middle of a response body.");
            }
        }
        var bytes = _received.GetBuffer().AsSpan(_position, count).ToArray();
        _position += count;
        return bytes;
    }

    private async Task<bool> FillAsync()
    {
        var read = await _stream.ReadAsync(_buffer).AsTask().WithTimeout("data from the server");
        _received.Write(_buffer, 0, read);
        return read > 0;
    }
}
