namespace PubSub.Bench.Protocols;

/// <summary>
/// bench/RawReference, the minimal Kestrel broadcaster: PubSub's JSON frames, the few it knows
/// (<c>connected</c>, <c>reply</c>, and each <c>publish</c> forwarded as it came), under its own name.
/// </summary>
public sealed class RawProtocol : PubSubProtocol
{
    public static new readonly RawProtocol Instance = new();

    private RawProtocol()
    {
    }

    public override string Name => "raw";
}
