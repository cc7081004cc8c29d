using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PubSub.Testing;

/// <summary>
/// A real browser for tests: /usr/bin/chromium (or <c>CHROMIUM</c>) headless, driven over the
/// DevTools protocol with a WebSocket of our own, so a test can open a page, wait until its DOM
/// shows something (looking again until a timeout, as <see cref="Timeouts.Until(Func{Task{bool}}, string, TimeSpan?, TimeSpan?)"/>
/// does), and take a screenshot. One fresh profile per browser, deleted on dispose.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly List<string> _console = [];
    private readonly Task _reading;
    private int _nextId;

    private HeadlessChromium(Process process, string profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _reading = ReadAsync();
    }

    public static string Executable => Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>What the page logged (console and uncaught errors), for a failing test's message.</summary>
    public string ConsoleOutput
    {
        get
        {
            lock (_console)
            {
                return string.Join('\n', _console);
            }
        }
    }

    /// <summary>
    /// Starts the browser on a blank page. <paramref name="ignoreCertificateErrors"/> lets it open
    /// https pages whose certificate no authority signed (a test's self-signed one).
    /// </summary>
    public static async Task<HeadlessChromium> StartAsync(bool ignoreCertificateErrors = false, int width = 1280, int height = 900)
    {
        var profile = Directory.CreateTempSubdirectory("pubsub-chromium-").FullName;
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        string[] arguments =
        [
            "--headless=new",
            // Tests run as root in containers, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            $"--user-data-dir={profile}",
            $"--window-size={width},{height}",
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        if (ignoreCertificateErrors)
        {
            start.ArgumentList.Add("--ignore-certificate-errors");
        }
        start.ArgumentList.Add("about:blank");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{Executable} did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        try
        {
            // Chromium says where its DevTools endpoint is on stderr, once it listens.
            var browserEndpoint = await ReadDevToolsEndpointAsync(process).WithTimeout("Chromium's DevTools endpoint");
            // Read on, so a chatty browser never blocks on a full pipe.
            _ = process.StandardError.ReadToEndAsync();
            var page = await FindPageAsync(new Uri(browserEndpoint));
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(page, CancellationToken.None).WithTimeout("Chromium's page target");
            var browser = new HeadlessChromium(process, profile, socket);
            await browser.SendAsync("Runtime.enable");
            await browser.SendAsync("Page.enable");
            return browser;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/> (and waits for the navigation to be committed, not for the page to settle).</summary>
    public async Task NavigateAsync(string url)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        if (result.TryGetProperty("errorText", out var error))
        {
            throw new InvalidOperationException($"Chromium could not open {url}: {error.GetString()}");
        }
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page (awaiting a promise) and returns its JSON value.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["returnByValue"] = true,
            ["awaitPromise"] = true,
        });
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException($"The page threw evaluating '{expression}': {exception}");
        }
        return result.GetProperty("result").TryGetProperty("value", out var value) ? value.Clone() : default;
    }

    /// <summary>
    /// Waits until <paramref name="expression"/> is true in the page (a page that is still loading
    /// counts as not yet), looking again every 50 ms; the timeout's message has the page's text and console.
    /// </summary>
    public async Task UntilAsync(string expression, string what, TimeSpan? timeout = null)
    {
        try
        {
            await Timeouts.Until(async () =>
            {
                try
                {
                    return (await EvaluateAsync($"!!({expression})")).ValueKind == JsonValueKind.True;
                }
                catch (InvalidOperationException)
                {
                    // Between two documents the expression can meet neither.
                    return false;
                }
            }, what, timeout, every: TimeSpan.FromMilliseconds(50));
        }
        catch (TimeoutException e)
        {
            var text = await EvaluateAsync("document.body ? document.body.innerText : ''");
            throw new TimeoutException($"{e.Message}\nThe page shows:\n{text}\nIts console:\n{ConsoleOutput}", e);
        }
    }

    /// <summary>Saves a PNG of the whole page at <paramref name="path"/> (its folder made if need be).</summary>
    public async Task ScreenshotAsync(string path)
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result.GetProperty("data").GetString()!));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Abort();
            _socket.Dispose();
            await _reading;
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
            try
            {
                Directory.Delete(_profile, recursive: true);
            }
            catch (IOException)
            {
                // A helper process may still be writing its last file; the temp folder is the OS's to clean.
            }
        }
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var response = await answer.Task.WithTimeout($"Chromium's answer to {method}");
        if (response.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"Chromium refused {method}: {error}");
        }
        return response.GetProperty("result");
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var received = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }
                var frame = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                message.SetLength(0);
                if (frame.TryGetProperty("id", out var id) && _pending.TryRemove(id.GetInt32(), out var answer))
                {
                    answer.TrySetResult(frame);
                }
                else if (frame.TryGetProperty("method", out var method))
                {
                    Record(method.GetString(), frame);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Disposed, or the browser went away; whatever waits learns it below.
        }
        foreach (var (_, answer) in _pending)
        {
            answer.TrySetException(new InvalidOperationException($"Chromium closed its DevTools connection. Console:\n{ConsoleOutput}"));
        }
    }

    private void Record(string? method, JsonElement frame)
    {
        string? line = method switch
        {
            "Runtime.consoleAPICalled" => $"console.{frame.GetProperty("params").GetProperty("type").GetString()}: " +
                string.Join(' ', frame.GetProperty("params").GetProperty("args").EnumerateArray().Select(a => a.TryGetProperty("value", out var v) ? v.ToString() : a.GetProperty("type").GetString())),
            "Runtime.exceptionThrown" => "uncaught: " + frame.GetProperty("params").GetProperty("exceptionDetails"),
            _ => null,
        };
        if (line is not null)
        {
            lock (_console)
            {
                _console.Add(line);
            }
        }
    }

    private static async Task<string> ReadDevToolsEndpointAsync(Process process)
    {
        const string Marker = "DevTools listening on ";
        var seen = new StringBuilder();
        while (await process.StandardError.ReadLineAsync() is { } line)
        {
            var at = line.IndexOf(Marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                return line[(at + Marker.Length)..].Trim();
            }
            seen.AppendLine(line);
        }
        throw new InvalidOperationException($"Chromium exited before it listened: {seen}");
    }

    /// <summary>The blank page's own DevTools socket, from the browser's target list.</summary>
    private static async Task<Uri> FindPageAsync(Uri browserEndpoint)
    {
        using var http = new HttpClient { Timeout = Timeouts.Default };
        var list = new Uri($"http://{browserEndpoint.Authority}/json/list");
        Uri? page = null;
        await Timeouts.Until(async () =>
        {
            var targets = JsonDocument.Parse(await http.GetStringAsync(list)).RootElement;
            page = targets.EnumerateArray()
                .Where(t => t.GetProperty("type").GetString() == "page")
                .Select(t => new Uri(t.GetProperty("webSocketDebuggerUrl").GetString()!))
                .FirstOrDefault();
            return page is not null;
        }, "Chromium's first page", every: TimeSpan.FromMilliseconds(50));
        return page!;
    }
}
