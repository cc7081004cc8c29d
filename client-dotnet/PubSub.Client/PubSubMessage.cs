using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace PubSub.Client;

/// <summary>
/// One publication of a channel: its position and its data, which is either a JSON value
/// (<see cref="Data"/>, <see cref="Deserialize{T}(JsonTypeInfo{T})"/>) or a byte string
/// (<see cref="IsBinary"/>, <see cref="Bytes"/>), as it was published.
/// </summary>
public sealed class PubSubMessage
{
    private readonly JsonElement _data;
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly JsonSerializerOptions _serializerOptions;

    internal PubSubMessage(string channel, StreamPosition position, JsonElement data, JsonSerializerOptions serializerOptions)
    {
        Channel = channel;
        Position = position;
        _data = data;
        _serializerOptions = serializerOptions;
    }

    internal PubSubMessage(string channel, StreamPosition position, ReadOnlyMemory<byte> bytes, JsonSerializerOptions serializerOptions)
    {
        Channel = channel;
        Position = position;
        _bytes = bytes;
        IsBinary = true;
        _serializerOptions = serializerOptions;
    }

    /// <summary>The channel the publication belongs to.</summary>
    public string Channel { get; }

    /// <summary>The publication's place in its channel.</summary>
    public StreamPosition Position { get; }

    /// <summary>The publication's offset in its epoch.</summary>
    public long Offset => Position.Offset;

    /// <summary>The epoch of the offset.</summary>
    public string Epoch => Position.Epoch;

    /// <summary>Whether the data is a byte string (published as bytes) rather than a JSON value.</summary>
    public bool IsBinary { get; }

    /// <summary>The data as a JSON value.</summary>
    /// <exception cref="InvalidOperationException">The publication is binary; read <see cref="Bytes"/>.</exception>
    public JsonElement Data => IsBinary
        ? throw new InvalidOperationException($"Publication {Position} of '{Channel}' is binary; read Bytes instead of Data.")
        : _data;

    /// <summary>The data as bytes.</summary>
    /// <exception cref="InvalidOperationException">The publication is a JSON value; read <see cref="Data"/>.</exception>
    public ReadOnlyMemory<byte> Bytes => IsBinary
        ? _bytes
        : throw new InvalidOperationException($"Publication {Position} of '{Channel}' is a JSON value; read Data instead of Bytes.");

    /// <summary>Deserializes the JSON data with source-generated metadata (trimming- and AOT-safe).</summary>
    public T? Deserialize<T>(JsonTypeInfo<T> jsonTypeInfo) => Data.Deserialize(jsonTypeInfo);

    /// <summary>Deserializes the JSON data with <paramref name="options"/>, or the client's <see cref="PubSubClientOptions.SerializerOptions"/>.</summary>
    [RequiresUnreferencedCode("JSON serialization of arbitrary types may need types that trimming removes; use the JsonTypeInfo overload.")]
    [RequiresDynamicCode("JSON serialization of arbitrary types may need runtime code generation; use the JsonTypeInfo overload.")]
    public T? Deserialize<T>(JsonSerializerOptions? options = null) => Data.Deserialize<T>(options ?? _serializerOptions);

    /// <inheritdoc/>
    public override string ToString() => IsBinary
        ? $"{Channel}@{Position}: {_bytes.Length} bytes"
        : $"{Channel}@{Position}: {_data.GetRawText()}";
}
