using StackExchange.Redis;

namespace PubSub.Redis;

/// <summary>
/// The Lua scripts that make each broker operation one atomic step in Redis
/// (docs/architecture.md, "Redis broker"). A channel's meta hash holds its epoch <c>e</c> and
/// latest offset <c>o</c>; its history stream holds entries with id <c>{offset}-0</c> and fields
/// <c>x</c> (expiry, Unix ms), <c>k</c> (kind) and <c>d</c> (data), in that order.
/// </summary>
internal static class RedisScripts
{
    /// <summary>
    /// KEYS: meta, history, and for an idempotent publish the key's string (in the channel's slot).
    /// ARGV: epoch candidate, kind, data, history size (0: none), history TTL (ms), idle TTL (ms),
    /// pub/sub channel, publish command (PUBLISH, or SPUBLISH in a cluster: the channel shares the
    /// keys' slot, so the script stays on one shard), and for an idempotent publish the key's
    /// window (ms). Returns {offset, epoch}.
    /// </summary>
    /// <remarks>
    /// A missing meta hash means the channel is new or lost its stream: the candidate becomes the
    /// epoch, and any history left from an older epoch goes, since its offsets would repeat.
    /// Everything that can fail (XADD) runs before the offset is stored, because a script that
    /// fails halfway is not rolled back and a stored offset without a publication is a gap.
    /// </remarks>
    /// An idempotency key that is still there holds <c>{offset}:{epoch}</c> of the first publish,
    /// which is returned with nothing published; otherwise it is set (SET NX PX) in the same step
    /// as the publish, so of two racing publishes with one key exactly one is published.
    public static readonly LuaScript Publish = new("""
        if KEYS[3] then
          local first = redis.call('GET', KEYS[3])
          if first then
            local colon = string.find(first, ':', 1, true)
            return {tonumber(string.sub(first, 1, colon - 1)), string.sub(first, colon + 1)}
          end
        end
        local meta = redis.call('HMGET', KEYS[1], 'e', 'o')
        local epoch = meta[1]
        local offset = 1
        if epoch then
          offset = (tonumber(meta[2]) or 0) + 1
        else
          epoch = ARGV[1]
          redis.call('DEL', KEYS[2])
        end
        local id = string.format('%d', offset)
        local idle = tonumber(ARGV[6])
        local size = tonumber(ARGV[4])
        if size > 0 then
          local ttl = tonumber(ARGV[5])
          local now = redis.call('TIME')
          local expires = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl
          redis.call('XADD', KEYS[2], 'MAXLEN', size, id .. '-0', 'x', string.format('%d', expires), 'k', ARGV[2], 'd', ARGV[3])
          redis.call('PEXPIRE', KEYS[2], ttl)
          if ttl > idle then idle = ttl end
        end
        redis.call('HSET', KEYS[1], 'e', epoch, 'o', id)
        redis.call('PEXPIRE', KEYS[1], idle)
        redis.call(ARGV[8], ARGV[7], ARGV[2] .. id .. ':' .. epoch .. ':' .. ARGV[3])
        if KEYS[3] then
          redis.call('SET', KEYS[3], id .. ':' .. epoch, 'NX', 'PX', ARGV[9])
        end
        return {offset, epoch}
        """);

    /// <summary>
    /// KEYS: the roster (a sorted set of node ids by when their entry expires, Unix ms). ARGV: the
    /// node's id, the node timeout (ms). Renews the node's entry, drops the expired ones, and keeps
    /// the roster itself only as long as a node renews it. Redis's clock, so nodes' clocks need not agree.
    /// </summary>
    public static readonly LuaScript RenewRoster = new("""
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local timeout = tonumber(ARGV[2])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
        redis.call('ZADD', KEYS[1], string.format('%d', now + timeout), ARGV[1])
        redis.call('PEXPIRE', KEYS[1], timeout)
        return 1
        """);

    /// <summary>KEYS: the roster. Returns the ids of the nodes whose entry has not expired.</summary>
    public static readonly LuaScript ReadRoster = new("""
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf')
        """);

    /// <summary>
    /// KEYS: meta, history. ARGV: epoch candidate, idle TTL (ms), since offset (-1: the latest
    /// ones), limit (0: position only), empty idle TTL (ms; at most the idle TTL). Returns {epoch, offset, then per
    /// publication: id, kind, data}.
    /// </summary>
    /// <remarks>
    /// Creates the epoch when missing, like a publish, so the caller always gets a position that a
    /// later publish continues. A stream still at offset 0 (never published) gets only the empty
    /// idle TTL, on every read: reading names no one publishes to must not leave keys behind for
    /// the full idle TTL, which only a publish gives. Expired entries at the head are deleted
    /// first (expiry grows with the offset while a channel's TTL stays the same), and any others
    /// are skipped.
    /// </remarks>
    public static readonly LuaScript Read = new("""
        local meta = redis.call('HMGET', KEYS[1], 'e', 'o')
        local epoch = meta[1]
        local offset = tonumber(meta[2]) or 0
        if not epoch then
          epoch = ARGV[1]
          offset = 0
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
        end
        local idle = tonumber(ARGV[2])
        if offset == 0 then
          redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[5]), idle))
        elseif redis.call('PTTL', KEYS[1]) < idle then
          redis.call('PEXPIRE', KEYS[1], idle)
        end
        local result = {epoch, offset}
        local limit = tonumber(ARGV[4])
        if limit <= 0 or offset == 0 then return result end
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        while true do
          local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 64)
          local expired = 0
          for _, entry in ipairs(head) do
            if tonumber(entry[2][2]) > now then break end
            redis.call('XDEL', KEYS[2], entry[1])
            expired = expired + 1
          end
          if expired < 64 then break end
        end
        local since = tonumber(ARGV[3])
        local entries
        if since >= 0 then
          entries = redis.call('XRANGE', KEYS[2], string.format('%d', since + 1) .. '-0', '+', 'COUNT', limit)
        else
          entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', limit)
        end
        for _, entry in ipairs(entries) do
          local fields = entry[2]
          if tonumber(fields[2]) > now then
            result[#result + 1] = entry[1]
            result[#result + 1] = fields[4]
            result[#result + 1] = fields[6]
          end
        end
        return result
        """);

    /// <summary>
    /// KEYS: the target's liveness key. ARGV: its pub/sub channel (in the key's slot), the message,
    /// the publish command. Returns the number of receivers, or -1 when the node's heartbeat has expired.
    /// </summary>
    /// <remarks>
    /// Both checks are needed: the receiver count is 0 at once for a node whose connection closed,
    /// and the heartbeat catches a node that hangs while its connection stays open.
    /// </remarks>
    public static readonly LuaScript SendToNode = new("""
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        return redis.call(ARGV[3], ARGV[1], ARGV[2])
        """);

    /// <summary>
    /// KEYS: meta, history. ARGV: the rewound epoch, the offset a node had delivered, a new epoch.
    /// Starts the new epoch (offset 0, no history) only if the channel is still in the rewound
    /// epoch below that offset, so that of several nodes noticing at once, one restarts it.
    /// Returns 1 when it did.
    /// </summary>
    public static readonly LuaScript RestartEpoch = new("""
        local meta = redis.call('HMGET', KEYS[1], 'e', 'o')
        if meta[1] == ARGV[1] and (tonumber(meta[2]) or 0) < tonumber(ARGV[2]) then
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'e', ARGV[3], 'o', 0)
          return 1
        end
        return 0
        """);

    /// <summary>
    /// A script, sent with its text every time (EVAL; <see cref="CommandFlags.NoScriptCache"/>
    /// keeps the client from switching to SCRIPT LOAD + EVALSHA). Redis hashes the text and
    /// reuses the compiled script, so this costs the text on the wire per call (0.1 to 1.4 KB).
    /// EVALSHA would save it, but once Redis forgets its scripts (a restart, SCRIPT FLUSH) every
    /// EVALSHA in flight is refused with NOSCRIPT, and one sent again goes out after the commands
    /// pipelined behind it, which would take their offsets first.
    /// </summary>
    internal sealed class LuaScript(string text)
    {
        /// <summary>
        /// Runs the script. The command is issued before this returns, so calls made one after
        /// another reach Redis in that order, pipelined on the connection.
        /// </summary>
        public Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values) =>
            database.ScriptEvaluateAsync(text, keys, values, CommandFlags.NoScriptCache);
    }
}
