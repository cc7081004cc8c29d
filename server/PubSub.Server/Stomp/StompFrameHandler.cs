using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PubSub.Channels;
using PubSub.Protocol;
using PubSub.Sessions;
using PubSub.Transports;

namespace PubSub.Stomp;

/// <summary>
/// What each STOMP client frame does (docs/protocol.md, section 7), on the same session,
/// channels and rules as the PubSub protocol: a SUBSCRIBE is a subscribe (with recovery from
/// <c>x-since</c>), a SEND a client publish, through <see cref="SessionFrameHandler"/>. Any
/// refusal is an ERROR frame, the session's last, as STOMP requires; a frame that asked for a
/// receipt gets its RECEIPT once it took effect (a SEND's once the broker stored it).
/// </summary>
internal sealed partial class StompFrameHandler(
    SessionFrameHandler frames,
    SessionBootstrap bootstrap,
    IOptions<PubSubOptions> options,
    ILogger<StompFrameHandler> logger)
{
    /// <summary>A DISCONNECT: the client leaves, and the socket closes normally.</summary>
    internal static readonly DisconnectReason ClientDisconnected = new(1000, "The client disconnected.");

    /// <summary>
    /// Called when the socket opens, before any frame: the client must CONNECT within the pong
    /// timeout (a socket that never speaks must not hold a place), and the connect hook's channels
    /// wait for CONNECTED, since nothing may come before it.
    /// </summary>
    public void Open(Session session, StompFraming framing, SessionTicket ticket)
    {
        framing.Connection.ServerChannels = [.. SessionBootstrap.ServerChannels(ticket, [])];
        session.Heartbeat.Negotiate(TimeSpan.Zero, options.Value.PongTimeout);
    }

    /// <summary>Handles the frames of one WebSocket message, in order; messages of one session never overlap.</summary>
    public async Task HandleMessageAsync(Session session, StompFraming framing, ReadOnlyMemory<byte> message)
    {
        await session.InboundLock.WaitAsync(session.Closed);
        try
        {
            var rest = message;
            while (!session.IsClosed)
            {
                switch (StompFrameReader.Read(ref rest, framing.Version, out var frame, out var problem))
                {
                    case StompRead.End:
                        return;
                    case StompRead.Invalid:
                        Fail(session, framing, PubSubErrorCodes.BadRequest, problem, receiptId: null);
                        return;
                    default:
                        await HandleFrameAsync(session, framing, frame!);
                        break;
                }
            }
        }
        finally
        {
            session.InboundLock.Release();
        }
    }

    private async Task HandleFrameAsync(Session session, StompFraming framing, StompFrame frame)
    {
        var receipt = frame[StompHeaders.Receipt];
        try
        {
            if (framing.Connection.State == StompState.AwaitingConnect)
            {
                if (frame.Command is not (StompCommands.Connect or StompCommands.Stomp))
                {
                    throw Refused($"The first frame must be CONNECT (or STOMP), not {frame.Command}.");
                }
                Connect(session, framing, frame);
                return;
            }
            switch (frame.Command)
            {
                case StompCommands.Subscribe:
                    await SubscribeAsync(session, framing, frame, receipt);
                    break;
                case StompCommands.Unsubscribe:
                    await UnsubscribeAsync(session, framing, frame, receipt);
                    break;
                case StompCommands.Send:
                    await SendAsync(session, framing, frame, receipt);
                    break;
                case StompCommands.Ack or StompCommands.Nack:
                    Acknowledge(session, framing, frame, receipt);
                    break;
                case StompCommands.Disconnect:
                    if (receipt is null)
                    {
                        session.Abandon();
                    }
                    else
                    {
                        session.Close(ClientDisconnected, framing.Receipt(receipt));
                    }
                    break;
                case StompCommands.Connect or StompCommands.Stomp:
                    throw Refused("The session is already connected; CONNECT comes once.");
                case StompCommands.Begin or StompCommands.Commit or StompCommands.Abort:
                    throw Refused("Transactions (BEGIN, COMMIT, ABORT) are not supported: each SEND is published on its own.");
                default:
                    throw new PubSubException(PubSubErrorCodes.UnknownType, $"{frame.Command} is not a STOMP client command.");
            }
        }
        catch (PubSubException e)
        {
            Fail(session, framing, e.Code, e.Message, receipt);
        }
        catch (OperationCanceledException) when (session.IsClosed)
        {
            // The session ended while the frame was in flight: nobody is left to answer.
        }
        catch (Exception e)
        {
            Log.FrameFailed(logger, frame.Command, session.Id, e);
            Fail(session, framing, PubSubErrorCodes.Internal, "The server failed to handle the frame.", receipt);
        }
    }

    /// <summary>
    /// CONNECT: the version (the highest both speak), the heart-beats (STOMP 1.2, "Heart-beating":
    /// each way the larger of what one side offers and the other wants, none when either says 0),
    /// then CONNECTED. The identity is the upgrade request's (docs/protocol.md, section 5):
    /// <c>login</c>, <c>passcode</c> and <c>host</c> are not read.
    /// </summary>
    private void Connect(Session session, StompFraming framing, StompFrame frame)
    {
        if (StompVersions.Negotiate(frame[StompHeaders.AcceptVersion]) is not { } version)
        {
            Fail(session, framing, PubSubErrorCodes.BadRequest,
                $"None of the versions in 'accept-version' ({frame[StompHeaders.AcceptVersion]}) is supported; the server speaks {StompVersions.Supported}.",
                receiptId: null, [new(StompHeaders.Version, StompVersions.Supported)]);
            return;
        }
        if (!TryParseHeartBeat(frame[StompHeaders.HeartBeat] ?? "0,0", out var clientSends, out var clientWants))
        {
            throw Refused($"'heart-beat' must be two numbers of milliseconds, 'cx,cy', not '{frame[StompHeaders.HeartBeat]}'.");
        }
        var ours = (long)options.Value.PingInterval.TotalMilliseconds;
        var sendEvery = clientWants == 0 ? 0 : Math.Max(ours, clientWants);
        var expectEvery = clientSends == 0 ? 0 : Math.Max(ours, clientSends);

        framing.Version = version;
        framing.Connection.State = StompState.Connected;
        session.Send(StompFraming.ConnectedFrame(version, session.Id, $"{ours},{ours}"));
        session.Heartbeat.Negotiate(
            TimeSpan.FromMilliseconds(sendEvery),
            // The margin, as after a ping of the PubSub protocol: the client's beat may be late by a network's hiccup.
            expectEvery == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(expectEvery) + options.Value.PongTimeout);
        bootstrap.StartSubscriptions(session, framing.Connection.ServerChannels);
    }

    private async Task SubscribeAsync(Session session, StompFraming framing, StompFrame frame, string? receipt)
    {
        var destination = Required(frame, StompHeaders.Destination);
        // 1.0 made the id optional; the destination then names the subscription.
        var id = frame[StompHeaders.Id] ?? (framing.Version == StompVersion.V10 ? destination : throw Refused("SUBSCRIBE needs an 'id' header."));
        var ack = frame[StompHeaders.Ack] switch
        {
            null or "auto" => StompAckMode.Auto,
            "client" => StompAckMode.Client,
            "client-individual" => StompAckMode.ClientIndividual,
            var other => throw Refused($"'ack' must be 'auto', 'client' or 'client-individual', not '{other}'."),
        };
        StreamPosition? since = null;
        if (frame[StompHeaders.Since] is { } sinceText)
        {
            if (!MessageIds.TryParsePosition(sinceText, out var position, out var channel) || (channel is not null && channel != destination))
            {
                throw Refused($"'x-since' must be '{{epoch}}:{{offset}}' (the x-epoch and x-offset of the last message received), or that message's message-id; not '{sinceText}'.");
            }
            since = position;
        }

        var match = frames.Resolve(destination);
        if (!framing.Connection.TryAdd(new StompSubscription(id, match.Channel, ack), out var code, out var problem))
        {
            throw new PubSubException(code, problem);
        }
        framing.AddSubscription(match.Channel, id);
        try
        {
            await frames.SubscribeAsync(session, match, since,
                outcome => receipt is null ? null : framing.Receipt(receipt, PositionHeaders(outcome.Latest, outcome.Recovered)),
                session.Closed);
        }
        catch
        {
            framing.Connection.Remove(id);
            framing.RemoveSubscription(match.Channel);
            throw;
        }
    }

    private async Task UnsubscribeAsync(Session session, StompFraming framing, StompFrame frame, string? receipt)
    {
        var id = frame[StompHeaders.Id]
            ?? (framing.Version == StompVersion.V10 ? frame[StompHeaders.Destination] : null)
            ?? throw Refused("UNSUBSCRIBE needs the 'id' of the subscription.");
        var subscription = framing.Connection.Remove(id)
            ?? throw new PubSubException(PubSubErrorCodes.NotSubscribed, $"The session has no subscription with id '{id}'.");
        await frames.UnsubscribeAsync(session, subscription.Channel);
        framing.RemoveSubscription(subscription.Channel);
        SendReceipt(session, framing, receipt);
    }

    private async Task SendAsync(Session session, StompFraming framing, StompFrame frame, string? receipt)
    {
        if (frame[StompHeaders.Transaction] is not null)
        {
            throw Refused("Transactions are not supported: send without a 'transaction' header.");
        }
        var destination = Required(frame, StompHeaders.Destination);
        var key = frame[StompHeaders.IdempotencyKey];
        if (key is not null && !IdempotencyKey.IsValid(key))
        {
            throw Refused($"'x-idempotency-key' must be 1 to {IdempotencyKey.MaxLength} characters.");
        }
        var stored = await frames.StartPublishAsync(session, destination, PayloadOf(frame), key, session.Closed);
        _ = AnswerWhenStoredAsync(session, framing, stored, receipt);
    }

    private static async Task AnswerWhenStoredAsync(Session session, StompFraming framing, Task<StreamPosition> stored, string? receipt)
    {
        try
        {
            var position = await stored;
            SendReceipt(session, framing, receipt, PositionHeaders(position, recovered: null));
        }
        catch (PubSubException e)
        {
            Fail(session, framing, e.Code, e.Message, receipt);
        }
    }

    /// <summary>
    /// ACK and NACK are checked and answered, and change nothing: delivery never waits for them
    /// (docs/protocol.md, section 7.4). 1.2 names the message by <c>id</c> (the MESSAGE's
    /// <c>ack</c>), 1.0 and 1.1 by <c>message-id</c>.
    /// </summary>
    private static void Acknowledge(Session session, StompFraming framing, StompFrame frame, string? receipt)
    {
        var messageId = framing.Version == StompVersion.V12 ? frame[StompHeaders.Id] : frame[StompHeaders.MessageId];
        if (!MessageIds.TryParse(messageId, out var channel, out _) || framing.Connection.FindByChannel(channel) is null)
        {
            throw Refused($"{frame.Command} names '{messageId}', which is not a message of one of the session's subscriptions.");
        }
        SendReceipt(session, framing, receipt);
    }

    /// <summary>
    /// The publication's data: JSON for <c>content-type: application/json</c> (it must then be
    /// one valid JSON value), otherwise bytes, as STOMP says a body without a type is a blob.
    /// </summary>
    private static Payload PayloadOf(StompFrame frame)
    {
        var type = frame[StompHeaders.ContentType];
        var mediaType = type is null ? "" : type.Split(';', 2)[0].Trim();
        if (!mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Payload.FromBinary(frame.Body.ToArray());
        }
        try
        {
            return Payload.FromJson(frame.Body.Span);
        }
        catch (ArgumentException e)
        {
            throw Refused($"The body of a SEND with content-type application/json must be one JSON value: {e.Message}");
        }
    }

    private static KeyValuePair<string, string>[] PositionHeaders(StreamPosition position, bool? recovered)
    {
        KeyValuePair<string, string>[] headers =
        [
            new(StompHeaders.Epoch, position.Epoch),
            new(StompHeaders.Offset, position.Offset.ToString(CultureInfo.InvariantCulture)),
        ];
        return recovered is { } value ? [.. headers, new(StompHeaders.Recovered, value ? "true" : "false")] : headers;
    }

    private static bool TryParseHeartBeat(string text, out long sends, out long wants)
    {
        sends = wants = 0;
        var parts = text.Split(',');
        return parts.Length == 2
            && long.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out sends)
            && long.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out wants)
            && sends <= int.MaxValue && wants <= int.MaxValue;
    }

    private static string Required(StompFrame frame, string header) =>
        frame[header] is { Length: > 0 } value ? value : throw Refused($"{frame.Command} needs a '{header}' header.");

    private static PubSubException Refused(string message) => new(PubSubErrorCodes.BadRequest, message);

    private static void SendReceipt(Session session, StompFraming framing, string? receipt, ReadOnlySpan<KeyValuePair<string, string>> extra = default)
    {
        if (receipt is not null)
        {
            session.Send(framing.Receipt(receipt, extra));
        }
    }

    /// <summary>
    /// An ERROR, then the end of the session. A refusal that may pass (the broker is down or slow)
    /// closes with 4003, so the client reconnects; any other with 4501.
    /// </summary>
    private static void Fail(Session session, StompFraming framing, string code, string message, string? receiptId, ReadOnlySpan<KeyValuePair<string, string>> extra = default) =>
        session.Close(
            PubSubErrorCodes.IsTransient(code) ? DisconnectReason.SessionClosed : DisconnectReason.ProtocolViolation,
            framing.ErrorFrame(code, message, receiptId, extra));

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "Handling a STOMP {Command} frame of session {SessionId} failed.")]
        public static partial void FrameFailed(ILogger logger, string command, string sessionId, Exception exception);
    }
}
