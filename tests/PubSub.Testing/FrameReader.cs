using Xunit;

namespace PubSub.Testing;

/// <summary>
/// What every test client does with the frames it receives, whatever carries them (WebSocket
/// messages, server-sent events, poll responses): skip the expected others, collect messages.
/// </summary>
internal static class FrameReader
{
    /// <summary>The next frame of <paramref name="type"/>; frames of other types in between must be listed in <paramref name="skipping"/>.</summary>
    public static async Task<T> NextOfTypeAsync<T>(Func<Task<T>> next, Func<T, string?> typeOf, string type, string[] skipping)
    {
        while (true)
        {
            var frame = await next();
            var actual = typeOf(frame);
            if (actual == type)
            {
                return frame;
            }
            // The whole frame, so a failure shows what came instead (a disconnect's code and reason).
            Assert.True(actual is not null && skipping.Contains(actual), $"expected a '{type}' frame, got: {frame}");
        }
    }

    /// <summary>The next <paramref name="count"/> <c>message</c> frames.</summary>
    public static async Task<List<T>> MessagesAsync<T>(Func<string, Task<T>> nextOfType, int count)
    {
        var messages = new List<T>(count);
        while (messages.Count < count)
        {
            messages.Add(await nextOfType("message"));
        }
        return messages;
    }
}
