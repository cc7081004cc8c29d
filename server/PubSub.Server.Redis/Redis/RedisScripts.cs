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
    /// What every presence script starts with. KEYS[1] is the channel's presence index (node to
    /// expiry), KEYS[2] its users hash (user to member count); a node's members hash is
    /// ARGV prefix .. node .. ARGV suffix, in the channel's slot. <c>sweep</c> drops the nodes whose
    /// entry expired: each member's user is counted down and, when its leave is announced, the
    /// leave is published on the channel (ARGV of each script name the channel and command).
    /// </summary>
    private const string PresenceFunctions = """
        local function now_ms()
          local time = redis.call('TIME')
          return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end
        local function user_of(value)
          if string.sub(value, 2, 2) == '-' then return nil end
          local colon = string.find(value, ':', 2, true)
          local length = tonumber(string.sub(value, 2, colon - 1))
          return string.sub(value, colon + 1, colon + length)
        end
        local function forget(users, session, value, announce, channel, command)
          local user = user_of(value)
          if user and redis.call('HINCRBY', users, user, -1) <= 0 then redis.call('HDEL', users, user) end
          if announce then redis.call(command, channel, 'L' .. string.len(session) .. ':' .. session .. value) end
        end
        local function drop_node(index, users, key, node, channel, command)
          local all = redis.call('HGETALL', key)
          for i = 1, #all, 2 do
            forget(users, all[i], all[i + 1], string.sub(all[i + 1], 1, 1) == '1', channel, command)
          end
          redis.call('DEL', key)
          redis.call('ZREM', index, node)
        end
        local function sweep(index, users, prefix, suffix, channel, command, now)
          for _, node in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', string.format('%d', now))) do
            drop_node(index, users, prefix .. node .. suffix, node, channel, command)
          end
        end
        local function renew(keys, node, timeout, now)
          redis.call('ZADD', keys[1], string.format('%d', now + timeout), node)
          for _, key in ipairs(keys) do redis.call('PEXPIRE', key, 2 * timeout) end
        end

        """;

    /// <summary>
    /// KEYS: index, users, this node's members. ARGV: node, prefix, suffix, channel, publish
    /// command, node timeout (ms), session, value, announce (1 or 0). Adds the member (a session
    /// already there keeps its entry), renews this node's entry, sweeps. Returns 1 when it is new,
    /// after publishing its join if announced.
    /// </summary>
    /// <remarks>
    /// This node renews its own entry before the sweep: a node that calls is alive, even if its
    /// entry expired while it could not reach Redis. The keys live twice the node timeout, so a
    /// dead node's members are still there to count down when the first sweep after its expiry
    /// runs (every node's heartbeat sweeps the channels it holds).
    /// </remarks>
    public static readonly LuaScript AddPresence = new(PresenceFunctions + """
        local now = now_ms()
        local timeout = tonumber(ARGV[6])
        renew(KEYS, ARGV[1], timeout, now)
        sweep(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
        if redis.call('HSETNX', KEYS[3], ARGV[7], ARGV[8]) == 0 then return 0 end
        redis.call('PEXPIRE', KEYS[3], 2 * timeout)
        local user = user_of(ARGV[8])
        if user then redis.call('HINCRBY', KEYS[2], user, 1) redis.call('PEXPIRE', KEYS[2], 2 * timeout) end
        if ARGV[9] == '1' then redis.call(ARGV[5], ARGV[4], 'J' .. string.len(ARGV[7]) .. ':' .. ARGV[7] .. ARGV[8]) end
        return 1
        """);

    /// <summary>
    /// KEYS: index, users, this node's members. ARGV: node, channel, publish command, session,
    /// announce (1 or 0). Removes the member, publishing its leave if announced; the node's entry
    /// goes with its last member. Returns 1 when there was one.
    /// </summary>
    public static readonly LuaScript RemovePresence = new(PresenceFunctions + """
        local value = redis.call('HGET', KEYS[3], ARGV[4])
        if not value then return 0 end
        redis.call('HDEL', KEYS[3], ARGV[4])
        forget(KEYS[2], ARGV[4], value, ARGV[5] == '1', ARGV[2], ARGV[3])
        if redis.call('HLEN', KEYS[3]) == 0 then
          redis.call('DEL', KEYS[3])
          redis.call('ZREM', KEYS[1], ARGV[1])
        end
        return 1
        """);

    /// <summary>
    /// KEYS: index, users, this node's members. ARGV: node, prefix, suffix, channel, publish
    /// command, node timeout (ms). The heartbeat's renewal of this node's entry, with a sweep.
    /// Returns how many members the node holds in Redis: fewer than it knows of when another node
    /// swept them while this one could not renew (or they expired), and the node then adds them again.
    /// </summary>
    public static readonly LuaScript RenewPresence = new(PresenceFunctions + """
        if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
        local now = now_ms()
        renew(KEYS, ARGV[1], tonumber(ARGV[6]), now)
        sweep(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
        return redis.call('HLEN', KEYS[3])
        """);

    /// <summary>
    /// KEYS: index, users, this node's members. ARGV: node, channel, publish command. Removes every
    /// member this node holds (a node that stops), announcing the leaves that are announced.
    /// </summary>
    public static readonly LuaScript DropPresence = new(PresenceFunctions + """
        drop_node(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])
        return 1
        """);

    /// <summary>
    /// KEYS: index, users. ARGV: prefix, suffix, channel, publish command, limit (0: count only).
    /// Sweeps, then returns {members, users, then per listed member: session, value}: at most
    /// limit members, node by node (HSCAN, so a large hash is not read whole).
    /// </summary>
    public static readonly LuaScript ReadPresence = new(PresenceFunctions + """
        sweep(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], now_ms())
        local nodes = redis.call('ZRANGE', KEYS[1], 0, -1)
        local result = {0, redis.call('HLEN', KEYS[2])}
        local limit = tonumber(ARGV[5])
        local listed = 0
        local seen = {}
        for _, node in ipairs(nodes) do
          local key = ARGV[1] .. node .. ARGV[2]
          result[1] = result[1] + redis.call('HLEN', key)
          local cursor = '0'
          while listed < limit do
            local page = redis.call('HSCAN', key, cursor, 'COUNT', 256)
            cursor = page[1]
            local entries = page[2]
            for i = 1, #entries, 2 do
              if listed < limit and not seen[entries[i]] then
                seen[entries[i]] = true
                listed = listed + 1
                result[#result + 1] = entries[i]
                result[#result + 1] = entries[i + 1]
              end
            end
            if cursor == '0' then break end
          end
        end
        return result
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
