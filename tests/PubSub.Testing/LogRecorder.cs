using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PubSub.Testing;

/// <summary>One log entry a <see cref="LogRecorder"/> saw.</summary>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}[{EventId.Id}]: {Message}{(Exception is null ? "" : $" ({Exception.GetType().Name})")}";
}

/// <summary>
/// Records what a node logs, from Debug up, whatever the node's own filters say; for tests that
/// check what is logged (once, at which level, with or without an exception) as well as what the
/// client sees. Add it with <see cref="AddTo"/>.
/// </summary>
public sealed class LogRecorder : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>Entries at Warning and above: what an operator would be woken up by.</summary>
    public IReadOnlyList<LogEntry> WarningsAndErrors => [.. _entries.Where(e => e.Level >= LogLevel.Warning)];

    public IReadOnlyList<LogEntry> Errors => [.. _entries.Where(e => e.Level >= LogLevel.Error)];

    /// <summary>Adds the recorder to a host's logging, with a rule of its own so the host's filters do not hide Debug entries from it.</summary>
    public void AddTo(ILoggingBuilder logging)
    {
        logging.AddProvider(this);
        logging.AddFilter<LogRecorder>(level => level >= LogLevel.Debug);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogRecorder recorder, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                recorder._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
            }
        }
    }
}
