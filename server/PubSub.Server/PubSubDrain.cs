namespace PubSub;

/// <summary>
/// How a node leaves when its host stops (SIGTERM, a deploy): <see cref="PubSubOptions.Drain"/>,
/// section <c>PubSub:Drain</c> in the Host. With both at zero, the default, every client is told
/// to reconnect (code 4000) the moment shutdown begins. docs/deployment.md, "Graceful drain".
/// </summary>
public sealed class PubSubDrain
{
    /// <summary>
    /// How long the node keeps serving after shutdown begins while <c>/healthz/ready</c> answers
    /// 503, so the load balancer stops sending it new connections before any client is moved.
    /// New sessions are refused meanwhile (503 <c>unavailable</c>). Set it to what the load
    /// balancer's health check needs to notice: interval × failures to mark a server down.
    /// </summary>
    public TimeSpan Delay { get; set; }

    /// <summary>
    /// Over how long the node then asks its clients, a few at a time, to reconnect elsewhere, so
    /// the other nodes take them gradually instead of all at once. They recover what they missed.
    /// </summary>
    public TimeSpan Window { get; set; }

    internal bool IsEnabled => Delay > TimeSpan.Zero || Window > TimeSpan.Zero;
}
