using PubSub.Bench.Clients;
using PubSub.Bench.Measurement;
using PubSub.Bench.Protocols;

namespace PubSub.Bench.Tests;

/// <summary>A generator connection fed by hand: what the receive loop of a transport would hand over.</summary>
internal sealed class FramingClient(WireProtocol protocol, RunWindow? window = null)
    : BenchClient(protocol, new SubscriberStats(window ?? OpenWindow()))
{
    public int Sent { get; private set; }

    public void Feed(byte[] unit, bool unitComplete) => OnUnit(unit, unitComplete, now: 2);

    public override ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        Sent++;
        return ValueTask.CompletedTask;
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static RunWindow OpenWindow()
    {
        var window = new RunWindow();
        window.Open(0);
        return window;
    }
}
