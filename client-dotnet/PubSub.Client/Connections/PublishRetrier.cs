using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using PubSub.Client.Protocol;

namespace PubSub.Client.Connections;

/// <summary>
/// Publishes with an idempotency key (docs/protocol.md, section 2.2) and sends a publish again,
/// with the same key, when its outcome is unknown (the connection dropped before the reply) or it
/// failed for now (a code whose rule is to try again: <c>unavailable</c>, <c>timeout</c>, ...),
/// up to <see cref="PubSubClientOptions.PublishRetries"/> times, all within one
/// <see cref="PubSubClientOptions.RequestTimeout"/>. The key makes the server publish it at most
/// once however many attempts reach it. Refusals are never sent again.
/// </summary>
internal sealed partial class PublishRetrier(RequestTracker requests, PubSubClientOptions options, ILogger logger)
{
    /// <summary>The longest key the protocol allows.</summary>
    public const int MaxKeyLength = 128;

    /// <summary>The first wait after a failure for now; it doubles with every attempt (a reconnect needs none: the retry waits in the send queue for it).</summary>
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentException"/> for a key the server would refuse, before anything is sent.</summary>
    public static void Validate(string? idempotencyKey)
    {
        if (idempotencyKey is { Length: 0 or > MaxKeyLength })
        {
            throw new ArgumentException($"An idempotency key has 1 to {MaxKeyLength} characters; this one has {idempotencyKey.Length}.", nameof(idempotencyKey));
        }
    }

    /// <summary>A new key: 128 random bits as 22 characters of base64url, as unguessable as a session id.</summary>
    public static string NewKey()
    {
        Span<byte> bits = stackalloc byte[16];
        RandomNumberGenerator.Fill(bits);
        return Convert.ToBase64String(bits).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Publishes the frame <paramref name="build"/> writes (given the id and the key) and returns its position.</summary>
    public async Task<StreamPosition> PublishAsync(Func<FrameCodec, long, string?, byte[]> build, string? idempotencyKey, CancellationToken cancellationToken)
    {
        Validate(idempotencyKey);
        // Without retries the frame stays as the application made it: no key it did not ask for.
        var key = idempotencyKey ?? (options.PublishRetries > 0 ? NewKey() : null);
        var time = options.TimeProvider;
        var started = time.GetTimestamp();
        var backoff = FirstBackoff;
        for (var attempt = 0; ; attempt++)
        {
            var left = options.RequestTimeout - time.GetElapsedTime(started);
            try
            {
                return await requests.SendAsync("publish", (codec, id) => build(codec, id, key), Replies.ReadPosition, cancellationToken, left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
            }
            catch (PubSubException e) when (key is not null && attempt < options.PublishRetries && RetryRuleOf(e) is { } rule)
            {
                left = options.RequestTimeout - time.GetElapsedTime(started);
                var wait = rule == RetryRule.Later ? Min(backoff, left) : TimeSpan.Zero;
                if (left <= wait)
                {
                    throw;
                }
                Log.Retrying(logger, attempt + 1, e.Code, wait.TotalMilliseconds);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, cancellationToken);
                    backoff = Min(backoff * 2, MaxBackoff);
                }
            }
        }
    }

    /// <summary>
    /// How a failed attempt is tried again, or null when it is not: a dropped connection (the
    /// outcome is unknown) at once, through the send queue that waits for the next connection; a
    /// server's failure for now after a backoff. The client's own codes are not the server's
    /// word (a reply it could not read, a budget that ran out), and refusals stay refusals.
    /// </summary>
    private static RetryRule? RetryRuleOf(PubSubException error) => error.Code switch
    {
        // A connection the server ended for good (4500–4999) has no next one to retry on.
        PubSubErrorCodes.ConnectionLost when error.InnerException is PubSubException { IsTerminal: true } => null,
        PubSubErrorCodes.ConnectionLost => RetryRule.Reconnect,
        PubSubErrorCodes.BadFrame or PubSubErrorCodes.TransportFailed or PubSubErrorCodes.Closed => null,
        var code => ErrorRules.RetryOf(code) switch
        {
            RetryRule.Later => RetryRule.Later,
            RetryRule.Reconnect => RetryRule.Reconnect,
            _ => null,
        },
    };

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static partial class Log
    {
        [LoggerMessage(36, LogLevel.Information, "Publish attempt {Attempt} failed ({Code}); sending it again with the same idempotency key in {DelayMs:0} ms")]
        public static partial void Retrying(ILogger logger, int attempt, string code, double delayMs);
    }
}
