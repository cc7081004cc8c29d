using System.Diagnostics;
using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Scenarios;

/// <summary>
/// The open-loop publisher: publication n is due at start + n / rate, and is sent as soon as
/// it is due (several at once when the thread woke late). It never waits for the server
/// beyond the send itself; if sends block, it falls behind schedule, which
/// <see cref="MaxLagTicks"/> shows.
/// </summary>
internal sealed class PublisherRun(WebSocketClient[] publishers, PublishWriter[] writers, double rate, TimeSpan warmup, TimeSpan duration, RunWindow window)
{
    private readonly TaskCompletionSource _windowOpened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sent;

    public Task WindowOpened => _windowOpened.Task;

    public Task Finished => _finished.Task;

    public long WindowStartTimestamp { get; private set; }

    public long WindowEndTimestamp { get; private set; }

    public long MaxLagTicks { get; private set; }

    /// <summary>Publications handed to the sockets so far: sequences below this one are on their way.</summary>
    public long Sent => Volatile.Read(ref _sent);

    public void Run()
    {
        try
        {
            var interval = Stopwatch.Frequency / rate;
            var start = Stopwatch.GetTimestamp();
            var windowStart = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            var end = windowStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var open = false;
            long sequence = 0;
            while (true)
            {
                var due = start + (long)(sequence * interval);
                if (due >= end)
                {
                    break;
                }
                var now = Stopwatch.GetTimestamp();
                if (now < due)
                {
                    Thread.Sleep(1);
                    continue;
                }
                if (!open && due >= windowStart)
                {
                    OpenWindow(sequence, due);
                    open = true;
                }
                if (open)
                {
                    MaxLagTicks = Math.Max(MaxLagTicks, now - due);
                }
                var frame = writers[sequence % writers.Length].Write(Stopwatch.GetTimestamp(), sequence);
                publishers[sequence % publishers.Length].SendBlocking(frame);
                sequence++;
                Volatile.Write(ref _sent, sequence);
            }
            if (!open)
            {
                OpenWindow(sequence, Stopwatch.GetTimestamp());
            }
            // The window spans the schedule of the publications sent in it, from the first one's
            // due time to the due time of the first one not sent, so n publications on schedule
            // take exactly n / rate; a publisher that fell behind makes it longer.
            WindowEndTimestamp = Math.Max(Stopwatch.GetTimestamp(), start + (long)(sequence * interval));
            window.Close(sequence);
            _finished.TrySetResult();
        }
        catch (Exception e)
        {
            _windowOpened.TrySetException(e);
            _finished.TrySetException(e);
        }
    }

    private void OpenWindow(long sequence, long due)
    {
        window.Open(sequence);
        WindowStartTimestamp = due;
        _windowOpened.TrySetResult();
    }
}
