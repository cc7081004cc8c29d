using PubSub.Channels;

namespace PubSub;

/// <summary>
/// The settings of one channel template. Channels whose names match <see cref="Template"/> (an
/// ASP.NET Core route pattern such as <c>chat/{room}</c> or <c>users/{id:int}</c>) get them.
/// </summary>
public sealed class ChannelOptions
{
    /// <summary>The route pattern channel names are matched against.</summary>
    public string Template { get; set; } = "";

    /// <summary>How many publications to keep for recovery. 0 (the default) keeps none.</summary>
    public int HistorySize { get; set; }

    /// <summary>How long a publication stays in history.</summary>
    public TimeSpan HistoryTtl { get; set; }

    /// <summary>The default <see cref="IdempotencyWindow"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultIdempotencyWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a publish's idempotency key is remembered: a publish with the same key to the same
    /// channel within this time of the first returns the first one's position and publishes
    /// nothing. Default <see cref="DefaultIdempotencyWindow"/>. Each key held costs the broker
    /// memory (about 100 B plus the key in Redis) until its window ends.
    /// </summary>
    public TimeSpan IdempotencyWindow { get; set; } = DefaultIdempotencyWindow;

    /// <summary>
    /// Whether the channel keeps its presence: who is subscribed (session, user, connection info),
    /// which clients read with <c>presence</c> and <c>presence_stats</c> and server code with
    /// <see cref="IPubSubControl.PresenceAsync"/>. Off by default: each subscription then costs a
    /// broker write when it starts and ends, and in Redis a refresh per channel and node every heartbeat.
    /// </summary>
    public bool Presence { get; set; }

    /// <summary>
    /// Whether subscribers get <c>join</c> and <c>leave</c> frames when others subscribe and
    /// unsubscribe (or disconnect), from any node. The channel then keeps its members as with
    /// <see cref="Presence"/> (a join is a member that was not there before), though only
    /// <see cref="Presence"/> lets them be read.
    /// </summary>
    public bool JoinLeave { get; set; }

    /// <summary>The default <see cref="JoinLeaveRate"/>: 20 join and leave frames per second per channel and node.</summary>
    public const int DefaultJoinLeaveRate = 20;

    /// <summary>
    /// The most join and leave frames per second a node sends to its subscribers of one channel,
    /// default <see cref="DefaultJoinLeaveRate"/> (a burst of as many): beyond it they are dropped,
    /// so a storm of clients coming and going costs each subscriber a bounded number of frames.
    /// Clients that need the exact set read <c>presence</c>.
    /// </summary>
    public int JoinLeaveRate { get; set; } = DefaultJoinLeaveRate;

    /// <summary>Whether clients may publish. By default only server code and the server API can.</summary>
    public bool AllowClientPublish { get; set; }

    /// <summary>An authorization policy a client must satisfy to subscribe, read history or publish. Handlers get the channel name as the resource.</summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// Whether only a signed-in user may subscribe, read history or publish. Like the three rules
    /// below, it can be set in configuration, so a Host with token authentication needs no code.
    /// </summary>
    public bool RequireAuthenticatedUser { get; set; }

    /// <summary>Roles of which a signed-in user must have at least one (empty: any user). Implies <see cref="RequireAuthenticatedUser"/>.</summary>
    public IList<string> RequireRoles { get; } = [];

    /// <summary>
    /// Claims a signed-in user must have, each by type with the values accepted (an empty list
    /// accepts any value): <c>"RequireClaims": { "scope": [ "chat" ] }</c>. Implies <see cref="RequireAuthenticatedUser"/>.
    /// </summary>
    public IDictionary<string, string[]> RequireClaims { get; } = new Dictionary<string, string[]>();

    /// <summary>
    /// A parameter of <see cref="Template"/> that must equal the signed-in user's id (the name
    /// identifier claim, a token's <c>sub</c>, else the name): with <c>users/{id}/notifications</c>
    /// and <c>"id"</c>, only user 42 may read <c>users/42/notifications</c>. Implies <see cref="RequireAuthenticatedUser"/>.
    /// </summary>
    public string? UserParameter { get; set; }

    /// <summary>Runs before a client subscribes; may reject.</summary>
    public Func<SubscribeContext, ValueTask>? OnSubscribe { get; set; }

    /// <summary>Runs before a client publishes; may reject.</summary>
    public Func<PublishContext, ValueTask>? OnPublish { get; set; }

    /// <summary>Runs after a subscription ends, whatever ended it.</summary>
    public Func<UnsubscribeContext, ValueTask>? OnUnsubscribe { get; set; }

    internal HistoryOptions History => new(HistorySize, HistoryTtl);

    /// <summary>Whether subscriptions enter the broker's presence (for reading or for join/leave).</summary>
    internal bool TracksPresence => Presence || JoinLeave;

    internal ChannelAccess Access => _access ??= ChannelAccess.Of(this);

    // Built on first use, after the options were bound and validated.
    private ChannelAccess? _access;
}

/// <summary>Configures a channel template fluently: <c>c.History(100, TimeSpan.FromMinutes(5)).AllowClientPublish()</c>.</summary>
public sealed class ChannelBuilder
{
    internal ChannelBuilder(ChannelOptions options) => Options = options;

    /// <summary>The settings being built.</summary>
    public ChannelOptions Options { get; }

    /// <summary>Keeps the last <paramref name="size"/> publications, each for at most <paramref name="ttl"/>, for recovery.</summary>
    public ChannelBuilder History(int size, TimeSpan ttl)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        Options.HistorySize = size;
        Options.HistoryTtl = ttl;
        return this;
    }

    /// <summary>Remembers publishes' idempotency keys for <paramref name="window"/> (see <see cref="ChannelOptions.IdempotencyWindow"/>).</summary>
    public ChannelBuilder IdempotencyWindow(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        Options.IdempotencyWindow = window;
        return this;
    }

    /// <summary>Keeps the channel's presence, for clients' <c>presence</c> and <c>presence_stats</c> and <see cref="IPubSubControl.PresenceAsync"/> (see <see cref="ChannelOptions.Presence"/>).</summary>
    public ChannelBuilder Presence()
    {
        Options.Presence = true;
        return this;
    }

    /// <summary>Sends subscribers <c>join</c> and <c>leave</c> frames, at most <paramref name="rate"/> per second per node (see <see cref="ChannelOptions.JoinLeave"/>).</summary>
    public ChannelBuilder JoinLeave(int rate = ChannelOptions.DefaultJoinLeaveRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        Options.JoinLeave = true;
        Options.JoinLeaveRate = rate;
        return this;
    }

    /// <summary>Lets clients publish (subject to the policy and the publish hook).</summary>
    public ChannelBuilder AllowClientPublish()
    {
        Options.AllowClientPublish = true;
        return this;
    }

    /// <summary>Lets only the user whose id is the template's <paramref name="parameter"/> subscribe or publish: <c>Channel("users/{id}/notifications", c =&gt; c.ForUser("id"))</c>.</summary>
    public ChannelBuilder ForUser(string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(parameter);
        Options.UserParameter = parameter;
        return this;
    }

    /// <summary>Requires clients to satisfy the named authorization policy to subscribe or publish.</summary>
    public ChannelBuilder RequireAuthorization(string policy)
    {
        ArgumentException.ThrowIfNullOrEmpty(policy);
        Options.AuthorizationPolicy = policy;
        return this;
    }

    /// <summary>Runs <paramref name="hook"/> before a client subscribes to, or reads the history of, a channel of this template; it may refuse with <see cref="RejectableChannelContext.Reject(string, string)"/>.</summary>
    public ChannelBuilder OnSubscribe(Func<SubscribeContext, ValueTask> hook)
    {
        Options.OnSubscribe = hook;
        return this;
    }

    /// <inheritdoc cref="OnSubscribe(Func{SubscribeContext, ValueTask})"/>
    public ChannelBuilder OnSubscribe(Action<SubscribeContext> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return OnSubscribe(context => { hook(context); return ValueTask.CompletedTask; });
    }

    /// <summary>Runs <paramref name="hook"/> before a client's publication to a channel of this template is published; it sees the data and may refuse.</summary>
    public ChannelBuilder OnPublish(Func<PublishContext, ValueTask> hook)
    {
        Options.OnPublish = hook;
        return this;
    }

    /// <inheritdoc cref="OnPublish(Func{PublishContext, ValueTask})"/>
    public ChannelBuilder OnPublish(Action<PublishContext> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return OnPublish(context => { hook(context); return ValueTask.CompletedTask; });
    }

    /// <summary>Runs <paramref name="hook"/> after a client's subscription to a channel of this template ended, whyever it ended.</summary>
    public ChannelBuilder OnUnsubscribe(Func<UnsubscribeContext, ValueTask> hook)
    {
        Options.OnUnsubscribe = hook;
        return this;
    }

    /// <inheritdoc cref="OnUnsubscribe(Func{UnsubscribeContext, ValueTask})"/>
    public ChannelBuilder OnUnsubscribe(Action<UnsubscribeContext> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return OnUnsubscribe(context => { hook(context); return ValueTask.CompletedTask; });
    }
}
