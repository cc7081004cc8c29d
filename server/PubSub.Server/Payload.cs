using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Unicode;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace PubSub;

/// <summary>
/// The data of a publication: a JSON value (held as minified UTF-8 text) or a byte string.
/// The kind travels with the data, so a publication sent as binary is delivered as binary.
/// </summary>
public readonly struct Payload : IEquatable<Payload>
{
    private Payload(ReadOnlyMemory<byte> bytes, bool isBinary)
    {
        Bytes = bytes;
        IsBinary = isBinary;
    }

    /// <summary>Minified UTF-8 JSON text, or the raw bytes when <see cref="IsBinary"/>.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>True for a byte string, false for a JSON value.</summary>
    public bool IsBinary { get; }

    /// <summary>
    /// A JSON value from its UTF-8 text. The text is validated and minified, because frames are
    /// newline-separated on the wire and must never contain a raw newline.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not exactly one JSON value, or not valid Unicode.</exception>
    public static Payload FromJson(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            using var document = JsonDocument.ParseValue(ref reader);
            // Whitespace may follow the value; anything else makes Read() throw.
            if (reader.Read())
            {
                throw new ArgumentException("The text holds more than one JSON value.", nameof(utf8Json));
            }
            return FromJson(document.RootElement);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The text is not valid JSON: {e.Message}", nameof(utf8Json), e);
        }
    }

    /// <summary>A JSON value from a parsed element.</summary>
    /// <exception cref="ArgumentException">
    /// The element holds no value, or text that is not valid Unicode: an escaped lone surrogate
    /// (<c>"\ud800"</c>) or bytes that are not UTF-8. Such data is refused rather than passed on,
    /// because clients could not read it (System.Text.Json refuses it; browsers would mangle it).
    /// </exception>
    public static Payload FromJson(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The element holds no JSON value.", nameof(value));
        }
        // The writer would replace bytes that are not UTF-8 with U+FFFD: changed data, silently.
        if (!Utf8.IsValid(JsonMarshal.GetRawUtf8Value(value)))
        {
            throw new ArgumentException("The data is not valid Unicode: it holds bytes that are not UTF-8.", nameof(value));
        }
        var buffer = new ArrayBufferWriter<byte>();
        try
        {
            using var writer = new Utf8JsonWriter(buffer, Protocol.ServerFrames.WriterOptions);
            value.WriteTo(writer);
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            // Writing unescapes every string, which fails only on escapes that make no UTF-16 text.
            throw new ArgumentException($"The data is not valid Unicode: a string holds an escaped lone surrogate such as \"\\ud800\" ({e.Message})", nameof(value), e);
        }
        return new Payload(buffer.WrittenSpan.ToArray(), isBinary: false);
    }

    /// <summary>A JSON value serialized from <paramref name="value"/>.</summary>
    public static Payload FromValue<T>(T value, JsonSerializerOptions? options = null)
    {
        var utf8Json = JsonSerializer.SerializeToUtf8Bytes(value, options);
        // Indented output holds newlines, which the wire format reserves for separating frames.
        return options is { WriteIndented: true } ? FromJson(utf8Json) : new(utf8Json, isBinary: false);
    }

    /// <summary>A JSON value serialized with source-generated metadata (trimming and AOT friendly).</summary>
    public static Payload FromValue<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var utf8Json = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        return typeInfo.Options.WriteIndented ? FromJson(utf8Json) : new(utf8Json, isBinary: false);
    }

    /// <summary>A byte string. The memory is kept, not copied: do not change it afterwards.</summary>
    public static Payload FromBinary(ReadOnlyMemory<byte> bytes) => new(bytes, isBinary: true);

    /// <summary>
    /// JSON text that is already known to be one valid, minified value (it came from this
    /// server or a broker that stored what this server wrote).
    /// </summary>
    internal static Payload FromTrustedJson(ReadOnlyMemory<byte> minifiedUtf8Json) => new(minifiedUtf8Json, isBinary: false);

    /// <summary>The JSON value, deserialized.</summary>
    /// <exception cref="InvalidOperationException">The payload is binary.</exception>
    public T? Deserialize<T>(JsonSerializerOptions? options = null) =>
        IsBinary ? throw new InvalidOperationException("The payload is binary, not JSON.") : JsonSerializer.Deserialize<T>(Bytes.Span, options);

    /// <summary>The JSON value as an element, for inspection.</summary>
    /// <exception cref="InvalidOperationException">The payload is binary.</exception>
    public JsonElement ToJsonElement() =>
        IsBinary ? throw new InvalidOperationException("The payload is binary, not JSON.") : JsonSerializer.Deserialize<JsonElement>(Bytes.Span);

    /// <summary>True when both are the same kind with the same bytes.</summary>
    public bool Equals(Payload other) => IsBinary == other.IsBinary && Bytes.Span.SequenceEqual(other.Bytes.Span);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Payload other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(IsBinary);
        hash.AddBytes(Bytes.Span);
        return hash.ToHashCode();
    }

    /// <summary>Whether two payloads are equal (<see cref="Equals(Payload)"/>).</summary>
    public static bool operator ==(Payload left, Payload right) => left.Equals(right);

    /// <summary>Whether two payloads differ.</summary>
    public static bool operator !=(Payload left, Payload right) => !left.Equals(right);

    /// <summary>The JSON text, or <c>binary[n]</c> for a byte string.</summary>
    public override string ToString() =>
        IsBinary ? $"binary[{Bytes.Length}]" : System.Text.Encoding.UTF8.GetString(Bytes.Span);
}
