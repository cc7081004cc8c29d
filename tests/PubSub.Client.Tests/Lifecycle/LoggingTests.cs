using Microsoft.Extensions.Logging;
using PubSub.Client.Tests.Support;

namespace PubSub.Client.Tests.Lifecycle;

public sealed class LoggingTests
{
    [Fact]
    public async Task The_client_logs_through_the_logger_factory_it_is_given()
    {
        var provider = new RecordingProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Debug));
        await using var node = await TestNode.StartAsync(o => o.Transports = PubSubTransports.ServerSentEvents);
        await using var client = await ClientHarness.ConnectAsync(node, configure: o => o.LoggerFactory = factory);

        Assert.Contains(provider.Lines, l => l.StartsWith("PubSub.Client.PubSubClient Information: Connected over sse: session", StringComparison.Ordinal));
        Assert.Contains(provider.Lines, l => l.Contains("Negotiated with node", StringComparison.Ordinal));
    }

    private sealed class RecordingProvider : ILoggerProvider
    {
        public List<string> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (provider.Lines)
                {
                    provider.Lines.Add($"{category} {logLevel}: {formatter(state, exception)}");
                }
            }
        }
    }
}
