using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using PubSub.Http;

namespace PubSub.Api;

/// <summary>
/// The server API's control endpoints (docs/protocol.md, section 4): <c>POST disconnect</c>,
/// <c>unsubscribe</c>, <c>subscribe</c>, <c>broadcast</c>, <c>GET channels</c>, <c>info</c>,
/// <c>presence</c> and <c>presence_stats</c>,
/// each a call of <see cref="IPubSubControl"/>, guarded as <c>publish</c> and <c>history</c> are.
/// </summary>
internal sealed class ControlApi(IPubSubControl control, ApiKeyGuard guard, RequestBodyReader bodies)
{
    /// <summary>The code a disconnect gets when the body says only <c>"reconnect": true</c>.</summary>
    public const int DefaultReconnectCode = 4100;

    public Task DisconnectAsync(HttpContext context) => RunAsync(context, ApiJsonContext.Default.DisconnectBody, async body =>
    {
        var target = TargetOf(body.User, body.Session);
        var code = body.Code ?? (body.Reconnect == true ? DefaultReconnectCode : PubSubDisconnectCodes.Application);
        if (body.Reconnect is { } reconnect && reconnect != code is >= 4000 and < 4500)
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest,
                $"'reconnect' is {(reconnect ? "true" : "false")} but code {code} says the opposite: codes 4100–4499 reconnect, 4500 and 4600–4999 do not.");
        }
        return Sessions(await control.DisconnectAsync(target, code, body.Reason, context.RequestAborted));
    }, ApiJsonContext.Default.SessionsBody);

    public Task UnsubscribeAsync(HttpContext context) => RunAsync(context, ApiJsonContext.Default.UnsubscribeBody, async body =>
        Sessions(await control.UnsubscribeAsync(TargetOf(body.User, body.Session), Required(body.Channel, "channel"), body.Code, body.Reason, context.RequestAborted)),
        ApiJsonContext.Default.SessionsBody);

    public Task SubscribeAsync(HttpContext context) => RunAsync(context, ApiJsonContext.Default.SubscribeBody, async body =>
        Sessions(await control.SubscribeAsync(TargetOf(body.User, body.Session), Required(body.Channel, "channel"), context.RequestAborted)),
        ApiJsonContext.Default.SessionsBody);

    public Task BroadcastAsync(HttpContext context) => RunAsync(context, ApiJsonContext.Default.BroadcastBody, async body =>
    {
        var channels = body.Channels ?? throw new PubSubException(PubSubErrorCodes.BadRequest, "'channels' must be a list of channel names.");
        if (channels.Any(channel => channel is null))
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest, "'channels' must hold strings only.");
        }
        var result = await control.BroadcastAsync(channels, PayloadOf(body.Data, body.Binary), body.IdempotencyKey, context.RequestAborted);
        return new BroadcastAnswerBody([.. result.Channels.Select(outcome => outcome.Position is { } position
            ? new BroadcastEntryBody(outcome.Channel, position.Epoch, position.Offset, null)
            : new BroadcastEntryBody(outcome.Channel, null, null, new ErrorDetail(outcome.Error!.Code, outcome.Error.Message)))]);
    }, ApiJsonContext.Default.BroadcastAnswerBody);

    public async Task ChannelsAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }
        var pattern = context.Request.Query["pattern"].ToString();
        await AnswerAsync(context, async () =>
        {
            var result = await control.ChannelsAsync(pattern.Length == 0 ? null : pattern, context.RequestAborted);
            return new ChannelsBody([.. result.Channels.Select(c => new ChannelEntryBody(c.Channel, c.Subscribers))], result.Truncated, result.UnansweredNodes);
        }, ApiJsonContext.Default.ChannelsBody);
    }

    public async Task InfoAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }
        await AnswerAsync(context, async () =>
        {
            var result = await control.InfoAsync(context.RequestAborted);
            return new InfoBody([.. result.Nodes.Select(n => new NodeBody(n.NodeId, Math.Round(n.Uptime.TotalSeconds, 3), n.Sessions, n.Channels))], result.UnansweredNodes);
        }, ApiJsonContext.Default.InfoBody);
    }

    public async Task PresenceAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }
        await AnswerAsync(context, async () =>
        {
            var limit = PresenceMember.MaxListed;
            if (context.Request.Query["limit"] is { Count: > 0 } text && (!int.TryParse(text.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > PresenceMember.MaxListed))
            {
                throw new PubSubException(PubSubErrorCodes.BadRequest, $"'limit' must be an integer from 1 to {PresenceMember.MaxListed}.");
            }
            var page = await control.PresenceAsync(ChannelOf(context), limit, context.RequestAborted);
            return new PresenceBody([.. page.Members.Select(m => new PresenceMemberBody(m.Session, m.User, m.Info is { } info ? JsonDocument.Parse(info.Bytes).RootElement : null))], page.Truncated);
        }, ApiJsonContext.Default.PresenceBody);
    }

    public async Task PresenceStatsAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context))
        {
            return;
        }
        await AnswerAsync(context, async () =>
        {
            var stats = await control.PresenceStatsAsync(ChannelOf(context), context.RequestAborted);
            return new PresenceStatsBody(stats.Clients, stats.Users);
        }, ApiJsonContext.Default.PresenceStatsBody);
    }

    private static string ChannelOf(HttpContext context) =>
        context.Request.Query["channel"] is { Count: 1 } channel ? channel.ToString() : throw new PubSubException(PubSubErrorCodes.BadRequest, "The query needs one 'channel'.");

    private async Task RunAsync<TBody, TAnswer>(HttpContext context, JsonTypeInfo<TBody> bodyType, Func<TBody, Task<TAnswer>> run, JsonTypeInfo<TAnswer> answerType)
        where TBody : class
    {
        if (!await AuthorizeAsync(context) || await bodies.ReadAsync(context, "The body") is not { } bytes)
        {
            return;
        }
        TBody? body;
        try
        {
            body = JsonSerializer.Deserialize(bytes, bodyType);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, $"The body is not a valid request: {e.Message}");
            return;
        }
        if (body is null)
        {
            await HttpErrors.WriteAsync(context, PubSubErrorCodes.BadRequest, "The body must be a JSON object.");
            return;
        }
        await AnswerAsync(context, () => run(body), answerType);
    }

    private static async Task AnswerAsync<TAnswer>(HttpContext context, Func<Task<TAnswer>> run, JsonTypeInfo<TAnswer> answerType)
    {
        TAnswer answer;
        try
        {
            answer = await run();
        }
        catch (PubSubException e)
        {
            await HttpErrors.WriteAsync(context, e);
            return;
        }
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, answer, answerType, context.RequestAborted);
    }

    private Task<bool> AuthorizeAsync(HttpContext context) =>
        guard.AuthorizeAsync(context, "The server API is closed: configure PubSub:ApiKey, or put an authorization policy on MapPubSubApi().");

    private static SessionTarget TargetOf(string? user, string? session) => (user, session) switch
    {
        ({ Length: > 0 }, null) => SessionTarget.User(user),
        (null, { Length: > 0 }) => SessionTarget.Session(session),
        _ => throw new PubSubException(PubSubErrorCodes.BadRequest, "The body needs exactly one of 'user' and 'session', a non-empty string."),
    };

    private static string Required(string? value, string name) =>
        value ?? throw new PubSubException(PubSubErrorCodes.BadRequest, $"'{name}' must be a string.");

    private static Payload PayloadOf(JsonElement? data, string? binary)
    {
        if (data is null == binary is null)
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest, "The body needs exactly one of 'data' and 'binary'.");
        }
        if (binary is not null)
        {
            try
            {
                return Payload.FromBinary(Convert.FromBase64String(binary));
            }
            catch (FormatException)
            {
                throw new PubSubException(PubSubErrorCodes.BadRequest, "'binary' must be a base64 string.");
            }
        }
        try
        {
            return Payload.FromJson(data!.Value);
        }
        catch (ArgumentException e)
        {
            throw new PubSubException(PubSubErrorCodes.BadRequest, $"'data' is refused: {e.Message}");
        }
    }

    private static SessionsBody Sessions(ControlResult result) => new(result.Sessions, result.UnansweredNodes);
}
