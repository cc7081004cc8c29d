namespace PubSub;

/// <summary>The health checks <c>AddPubSub()</c> registers, for applications that map their own health endpoints.</summary>
public static class PubSubHealthChecks
{
    /// <summary>The tag of the checks that say whether the node can serve clients now (readiness, not liveness).</summary>
    public const string ReadyTag = "pubsub-ready";

    /// <summary>The name of the check that asks the broker.</summary>
    public const string Broker = "pubsub-broker";

    /// <summary>The name of the check that fails while the node drains (<see cref="PubSubOptions.Drain"/>).</summary>
    public const string Drain = "pubsub-drain";
}
