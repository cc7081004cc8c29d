namespace PubSub.Client;

/// <summary>How the client's frames are encoded (docs/protocol.md, sections 2 and 6).</summary>
public enum PubSubEncoding
{
    /// <summary>JSON text, on every transport.</summary>
    Json,

    /// <summary>
    /// MessagePack: smaller frames, and binary publications as raw bytes instead of base64. Used
    /// on WebSocket (subprotocol <c>pubsub.msgpack</c>) and long-polling; Server-Sent Events carry
    /// text only, so a session there is JSON. Publications reach the application the same either way.
    /// </summary>
    MessagePack,
}
