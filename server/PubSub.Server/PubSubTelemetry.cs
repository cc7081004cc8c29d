namespace PubSub;

/// <summary>Names of the node's telemetry, for applications that collect it (OpenTelemetry's <c>AddMeter</c>, <c>dotnet-counters</c>).</summary>
public static class PubSubTelemetry
{
    /// <summary>
    /// The <see cref="System.Diagnostics.Metrics.Meter"/> every PubSub instrument belongs to:
    /// <c>dotnet-counters monitor --counters PubSub -n PubSub.Host</c>, or
    /// <c>metrics.AddMeter(PubSubTelemetry.MeterName)</c>. docs/deployment.md lists the instruments.
    /// </summary>
    public const string MeterName = "PubSub";
}
