#!/usr/bin/env bash
# Runs a benchmark scenario against PubSub and the SignalR reference, one after the other, with
# the server(s) pinned to one core and the load generator to the other, and prints the ratios.
# Method and tables: docs/benchmarks.md. Everything talks to 127.0.0.1 only; every phase is
# bounded in time and count. Builds what it needs (Release).
#
#   bench/run.sh SCENARIO [extra generator options...]
#
# SCENARIO:
#   sweep       fan-out, 1,000 WebSocket subscribers, 100-byte payloads, offered 50..400 pub/s
#               (issue 6 target 1; its 200/s row is target 2: 200,000 deliveries/s) + SVG plot
#   fanout      one fan-out run at $RATE (default 200/s) with $SUBS subscribers
#   channels    $SUBS subscribers, each on its own channel, $CHANNEL_RATES pub/s spread over them
#   publish-heavy  $PUBLISHERS [1000] clients each publishing $PUBLISH_RATE [10]/s to its own
#               channel, which $PUBLISH_SUBS [10] subscribers each follow (issue 17 target 5)
#   transports  fan-out over WebSocket, SSE and long-polling at the same load (target 4)
#   encodings   fan-out over WebSocket in JSON and MessagePack, each without and with
#               permessage-deflate, at $ENCODING_RATES: wire bytes and CPU per delivery
#   idle        $CONNECTIONS idle WebSocket connections: server memory per connection (target 3)
#   crossnode   $CROSSNODE_NODES [2] PubSub nodes on a Redis broker, subscribers split, publisher on node 1,
#               against the same run on one node (target 5; PubSub only, needs the Redis broker),
#               on one Redis and then on a 3-master Redis Cluster ($CROSSNODE_BROKERS)
#   storm       the reconnect storm (issue 17 target 4): $STORM_CLIENTS [10000] SDK clients over
#               $STORM_SOURCES [4] source addresses, half on each of two nodes sharing a Redis, each
#               on 5 of $STORM_CHANNELS [100] channels that get $STORM_RATE [100] pub/s in all; node 2 is
#               killed with SIGKILL after $WARMUP s; recovery time, connects/s, CPU and Redis history
#               reads, with the 100 ms curve in $OUT/storm-curve-*.csv and .svg (PubSub only:
#               SignalR has no recovery to compare)
#   heapstat    where an idle connection's managed heap goes, by type ($HEAP_CONNECTIONS [2000])
#   presence    PubSub only (SignalR has no presence): fan-out at $RATE to $SUBS subscribers on a
#               template without presence, with Presence and JoinLeave (and timed presence reads
#               through the server API), and with $CHURN sessions/s joining and leaving; then the
#               same reads and churn on a Redis broker
#   all         every one of the above (about 10 minutes, build not counted)
#
# Environment (defaults in brackets):
#   TARGETS [pubsub signalr] (raw: bench/RawReference, the minimal Kestrel broadcaster, for
#   fanout, sweep and idle over WebSocket only)   RAW_HANDSHAKE [http] (connection: the raw reference
#   answers the WebSocket upgrade below Kestrel's HTTP layer)   WRITE_DELAY [0]: PubSub's WriteDelay (a TimeSpan such
#   as 00:00:00.010), added to the label as /wd=...   INLINE_SCHEDULING [false]: PubSub's and SignalR's
#   Host:InlineScheduling (false: socket I/O hops to the thread pool, ASP.NET Core's default; raw keeps that)   SUBS [1000]   SIZE [100]   RATE [200]
#   SWEEP_RATES [50,100,150,200,250,300,350,400]   CHANNEL_RATES [2000,5000,10000]
#   TRANSPORT_SUBS [1000]   TRANSPORT_RATE [20]   CONNECTIONS [19000]   ENCODING_RATES [50,200]
#   WARMUP [3]  DURATION [10]  DRAIN [5]   HISTORY [100] (history size of PubSub's bench channels)
#   SERVER_CORE [0]  GEN_CORE [1]   PORT_BASE [5100]   OUT [bench/results]   LABEL [scenario]
#   CROSSNODE_BROKERS [redis cluster]   CROSSNODE_NODES [2] (nodes in the scaled-out runs)   NO_BUILD=1 skips the build.   PUBSUB_REDIS_ARGS [--PubSub:Redis:Configuration={redis}]: the
#   Host options that select the Redis broker, {redis} standing for host:port (crossnode).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scenario="${1:-}"
[ -n "$scenario" ] || { sed -n '2,47p' "$0"; exit 2; }
shift

TARGETS="${TARGETS:-pubsub signalr}"
SUBS="${SUBS:-1000}"
SIZE="${SIZE:-100}"
RATE="${RATE:-200}"
SWEEP_RATES="${SWEEP_RATES:-50,100,150,200,250,300,350,400}"
CHANNEL_RATES="${CHANNEL_RATES:-2000,5000,10000}"
TRANSPORT_SUBS="${TRANSPORT_SUBS:-1000}"
TRANSPORT_RATE="${TRANSPORT_RATE:-20}"
ENCODING_RATES="${ENCODING_RATES:-50,200}"
# The machine's hard limit on open files is 20,000 per process (ulimit -Hn; raising it needs
# CAP_SYS_RESOURCE, which this machine does not give), and every connection holds one in the
# server and one in the generator.
CONNECTIONS="${CONNECTIONS:-19000}"
WARMUP="${WARMUP:-3}"
DURATION="${DURATION:-10}"
DRAIN="${DRAIN:-5}"
HISTORY="${HISTORY:-100}"
SERVER_CORE="${SERVER_CORE:-0}"
GEN_CORE="${GEN_CORE:-1}"
PORT_BASE="${PORT_BASE:-5100}"
OUT="${OUT:-$root/bench/results}"
# Absolute: the servers start from their own folders.
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
PUBSUB_REDIS_ARGS="${PUBSUB_REDIS_ARGS:---PubSub:Redis:Configuration={redis}}"
LABEL="${LABEL:-$scenario}"
WRITE_DELAY="${WRITE_DELAY:-0}"
INLINE_SCHEDULING="${INLINE_SCHEDULING:-false}"
[ "$WRITE_DELAY" = 0 ] || LABEL="$LABEL/wd=$WRITE_DELAY"
CROSSNODE_BROKERS="${CROSSNODE_BROKERS:-redis cluster}"
CROSSNODE_NODES="${CROSSNODE_NODES:-2}"
CSV="$OUT/results.csv"

host_dir="$root/server/PubSub.Host/bin/Release/net10.0"
reference_dir="$root/bench/SignalRReference/bin/Release/net10.0"
raw_dir="$root/bench/RawReference/bin/Release/net10.0"
bench_dll="$root/bench/PubSub.Bench/bin/Release/net10.0/PubSub.Bench.dll"

step() { printf '\n==> %s\n' "$*" >&2; }

build() {
  [ "${NO_BUILD:-}" = 1 ] && return
  step "Building (Release)"
  for project in server/PubSub.Host bench/SignalRReference bench/RawReference bench/PubSub.Bench; do
    dotnet build "$project" -c Release -nologo -v quiet "-clp:ErrorsOnly;NoSummary"
  done
}

# Both servers: Release build, same Kestrel defaults, logging off, server GC, one core, and the
# diagnostics endpoint (loopback only) that reports the managed heap.
server_env=(env DOTNET_gcServer=1 ASPNETCORE_ENVIRONMENT=Production DOTNET_NOLOGO=1)
server_args=(--Logging:LogLevel:Default=None --Logging:LogLevel:Microsoft.AspNetCore=None
  --Logging:LogLevel:PubSub=None --Diagnostics:Enabled=true "--Host:InlineScheduling=$INLINE_SCHEDULING")
# PubSub's bench channels: clients may publish; history on, as a deployment that wants
# recovery has it (SignalR has no equivalent to turn on). Index 90 appends to appsettings' list.
pubsub_args=("--PubSub:Channels:90:Template=bench/{id}" --PubSub:Channels:90:AllowClientPublish=true
  "--PubSub:Channels:90:HistorySize=$HISTORY" --PubSub:Channels:90:HistoryTtl=00:05:00)
[ "$WRITE_DELAY" = 0 ] || pubsub_args+=("--PubSub:WriteDelay=$WRITE_DELAY")

started_pids=()
cluster_dirs=()

stop_all() {
  for pid in "${started_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${started_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  started_pids=()
  [ ${#cluster_dirs[@]} -eq 0 ] || rm -rf "${cluster_dirs[@]}"
  cluster_dirs=()
}
trap stop_all EXIT INT TERM

wait_ready() { # url pid
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1/healthz" 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "the server at $1 exited during start" >&2; return 1; }
    sleep 0.2
  done
  echo "the server at $1 did not become healthy in 30 s" >&2
  return 1
}

# start_server TARGET PORT [extra server args...]; sets $server_pid.
start_server() {
  local target="$1" port="$2"
  shift 2
  local dir dll extra=()
  case "$target" in
    pubsub) dir="$host_dir"; dll=PubSub.Host.dll; extra=("${pubsub_args[@]}") ;;
    raw) dir="$raw_dir"; dll=RawReference.dll; extra=("--Reference:Handshake=${RAW_HANDSHAKE:-http}") ;;
    *) dir="$reference_dir"; dll=SignalRReference.dll ;;
  esac
  # The content root is the working directory: appsettings.json and wwwroot come from there.
  (cd "$dir" && exec taskset -c "$SERVER_CORE" "${server_env[@]}" dotnet "$dll" \
    --urls "http://127.0.0.1:$port" "${server_args[@]}" "${extra[@]}" "$@") &
  server_pid=$!
  started_pids+=("$server_pid")
  wait_ready "http://127.0.0.1:$port" "$server_pid"
}

generator() {
  # Socket completions run on the event thread instead of hopping to the thread pool: on one
  # core the hop is most of the cost of a small message (docs/benchmarks.md, "The generator").
  taskset -c "$GEN_CORE" env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS="${GEN_INLINE:-1}" dotnet "$bench_dll" "$@"
}

common_run_args() {
  echo --warmup "$WARMUP" --duration "$DURATION" --drain "$DRAIN" --size "$SIZE" --csv "$CSV" --json "$OUT/results.jsonl" --label "$LABEL"
}

# The option that lets each server accept permessage-deflate, when $COMPRESSION is 1.
compression_args() { # target
  [ "${COMPRESSION:-0}" = 1 ] || return 0
  if [ "$1" = pubsub ]; then echo --PubSub:WebSocketCompression=true; else echo --Reference:WebSocketCompression=true; fi
}

# run_pair SCENARIO-ARGS...: the same generator command against each target, one server at a time.
run_pair() {
  local port="$PORT_BASE" target
  for target in $TARGETS; do
    port=$((port + 1))
    step "$target: $*"
    # shellcheck disable=SC2046
    start_server "$target" "$port" $(compression_args "$target")
    # shellcheck disable=SC2046
    generator run --target "$target" --url "http://127.0.0.1:$port" --server-pid "$server_pid" --diag \
      $(common_run_args) "$@" || echo "(the $target run failed; see above)" >&2
    stop_all
  done
}

compare() {
  step "Ratios (pubsub / signalr), from $CSV"
  generator compare --csv "$CSV"
}

run_sweep() {
  run_pair --scenario fanout --subscribers "$SUBS" --rates "$SWEEP_RATES" "$@"
  generator plot --csv "$CSV" --scenario fanout --out "$OUT/fanout-latency.svg"
}

run_fanout() { run_pair --scenario fanout --subscribers "$SUBS" --rate "$RATE" "$@"; }

run_channels() {
  run_pair --scenario channels --subscribers "$SUBS" --rates "$CHANNEL_RATES" "$@"
  generator plot --csv "$CSV" --scenario channels --out "$OUT/channels-latency.svg" || true
}

run_publish_heavy() {
  local publishers="${PUBLISHERS:-1000}" per_channel="${PUBLISH_SUBS:-10}"
  local rate
  rate=$(awk -v p="$publishers" -v r="${PUBLISH_RATE:-10}" 'BEGIN { print p * r }')
  run_pair --scenario publish-heavy --subscribers $((publishers * per_channel)) --channels "$publishers" \
    --publishers "$publishers" --rate "$rate" "$@"
  generator plot --csv "$CSV" --scenario publish-heavy --out "$OUT/publish-heavy-latency.svg" || true
}

run_storm() {
  command -v redis-server >/dev/null || { echo "storm needs redis-server (./test.sh installs it)" >&2; return 1; }
  local redis_port=$((PORT_BASE + 79)) survivor=$((PORT_BASE + 31)) victim=$((PORT_BASE + 32)) survivor_pid
  # Each node holds half the clients, and the survivor all of them after the kill.
  ulimit -n "$(ulimit -Hn)"
  step "redis-server on 127.0.0.1:$redis_port (core $SERVER_CORE, no persistence)"
  start_redis "$redis_port"
  # shellcheck disable=SC2206
  local redis_args=(${PUBSUB_REDIS_ARGS//\{redis\}/127.0.0.1:$redis_port} --Host:Metrics:AllowAnonymous=true)
  start_server pubsub "$survivor" "${redis_args[@]}"
  survivor_pid=$server_pid
  start_server pubsub "$victim" "${redis_args[@]}"
  step "pubsub storm: ${STORM_CLIENTS:-10000} clients, node 2 (pid $server_pid) killed after $WARMUP s"
  # shellcheck disable=SC2046
  generator run --target pubsub --scenario storm --url "http://127.0.0.1:$survivor" --url "http://127.0.0.1:$victim" \
    --server-pid "$survivor_pid" --kill-pid "$server_pid" --redis-pid "$redis_pid" $(common_run_args) \
    --subscribers "${STORM_CLIENTS:-10000}" --channels "${STORM_CHANNELS:-100}" --subscriptions 5 \
    --rate "${STORM_RATE:-100}" --sources "${STORM_SOURCES:-4}" --drain "${STORM_DRAIN:-20}" \
    --curve "$OUT/storm-curve-$(date -u +%Y%m%dT%H%M%S).csv" "$@" || echo "(the storm run failed; see above)" >&2
  stop_all
}

run_transports() { run_pair --scenario transports --subscribers "$TRANSPORT_SUBS" --rate "$TRANSPORT_RATE" "$@"; }

# The same fan-out in each encoding, without and with permessage-deflate (the servers accept it
# only in the deflate runs). Transport names in the results: ws, ws/msgpack, ws+deflate, ws/msgpack+deflate.
run_encodings() {
  local encoding
  for encoding in json msgpack; do
    COMPRESSION=0 run_pair --scenario fanout --subscribers "$SUBS" --rates "$ENCODING_RATES" --encoding "$encoding" "$@"
    COMPRESSION=1 run_pair --scenario fanout --subscribers "$SUBS" --rates "$ENCODING_RATES" --encoding "$encoding" --deflate "$@"
  done
}

run_idle() {
  # The generator needs one descriptor per connection as well.
  ulimit -n "$(ulimit -Hn)"
  run_pair --scenario idle --connections "$CONNECTIONS" --hold 5 "$@"
}

# utime + stime of the given processes (--server-pid PID pairs or bare PIDs), in clock ticks.
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ "$pid" = --server-pid ] && continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

# One redis-server on the servers' core, no persistence; its pid in redis_pid.
start_redis() { # port [extra redis-server args...]
  local port=$1
  shift
  taskset -c "$SERVER_CORE" redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --loglevel warning "$@" &
  redis_pid=$!
  started_pids+=("$redis_pid")
  for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

# A Redis Cluster of three masters (no replicas: a benchmark measures the hop, not failover) on
# ports port..port+2, cluster bus on port+10.., each node's state in a throwaway folder. Its pids
# in cluster_pids; returns when every node reports cluster_state:ok.
start_redis_cluster() { # port
  local port=$1 dir node addresses=() state
  dir="$(mktemp -d /tmp/pubsub-bench-cluster.XXXXXX)"
  cluster_dirs+=("$dir")
  cluster_pids=()
  for node in 0 1 2; do
    mkdir -p "$dir/$node"
    start_redis $((port + node)) --dir "$dir/$node" --logfile redis.log --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-port $((port + 10 + node))
    cluster_pids+=("$redis_pid")
    addresses+=("127.0.0.1:$((port + node))")
  done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 100); do
    state=0
    for node in 0 1 2; do
      redis-cli -p $((port + node)) cluster info | grep -q 'cluster_state:ok' && state=$((state + 1))
    done
    [ "$state" = 3 ] && return 0
    sleep 0.1
  done
  echo "the Redis Cluster on ports $port..$((port + 2)) did not reach cluster_state:ok in 10 s" >&2
  return 1
}

# Presence's cost on a busy channel, against the same fan-out without it (no peer here has
# presence to compare with): reads of a 1,000-member presence, and joins and leaves arriving at
# $CHURN [10] a second, each a frame to every subscriber (up to JoinLeaveRate, 20/s per channel).
run_presence() {
  local port=$((PORT_BASE + 21)) redis_port=$((PORT_BASE + 79)) key=bench-presence-key
  local load=(--scenario fanout --subscribers "$SUBS" --rate "$RATE")
  local on=(--PubSub:Channels:90:Presence=true --PubSub:Channels:90:JoinLeave=true "--PubSub:ApiKey=$key")
  local reads=(--presence-reads "${PRESENCE_READS:-500}" --api-key "$key")
  run_one() { # label server-args... -- generator-args...
    local label=$1 server=() ; shift
    while [ "$1" != -- ]; do server+=("$1"); shift; done; shift
    step "pubsub, $label"
    start_server pubsub "$port" "${server[@]}"
    # shellcheck disable=SC2046
    generator run --target pubsub --url "http://127.0.0.1:$port" --server-pid "$server_pid" "${broker_pids[@]}" --diag \
      "${load[@]}" $(common_run_args) --label "$LABEL/$label" "$@" || true
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  }
  local broker_pids=()
  run_one memory/off --
  run_one memory/presence "${on[@]}" -- "${reads[@]}"
  run_one memory/presence+churn "${on[@]}" -- --churn "${CHURN:-10}"
  command -v redis-server >/dev/null || { echo "the Redis runs need redis-server (./test.sh installs it)" >&2; return 0; }
  start_redis "$redis_port"
  broker_pids=(--server-pid "$redis_pid")
  # shellcheck disable=SC2206
  local redis_args=(${PUBSUB_REDIS_ARGS//\{redis\}/127.0.0.1:$redis_port})
  run_one redis/off "${redis_args[@]}" --
  run_one redis/presence "${redis_args[@]}" "${on[@]}" -- "${reads[@]}"
  run_one redis/presence+churn "${redis_args[@]}" "${on[@]}" -- --churn "${CHURN:-10}"
  stop_all
}

# Two PubSub nodes sharing a Redis broker, against one node with the memory broker, same load:
# first on one Redis, then on a Redis Cluster ($CROSSNODE_BROKERS). The Host selects the broker
# from configuration (README, "Scaling out with Redis"); PUBSUB_REDIS_ARGS holds those options,
# {redis} standing for the Redis address(es). Redis runs on the servers' core, and server CPU
# counts it: it does part of the work that the memory broker does in-process.
run_crossnode() {
  if [ ! -d "$root/server/PubSub.Server.Redis" ]; then
    echo "crossnode needs the Redis broker (server/PubSub.Server.Redis), which this tree does not have yet." >&2
    return 1
  fi
  command -v redis-server >/dev/null || { echo "crossnode needs redis-server (./test.sh installs it)" >&2; return 1; }
  local redis_port=$((PORT_BASE + 79)) cluster_port=$((PORT_BASE + 80)) node1=$((PORT_BASE + 11))
  local broker address broker_pids redis_args
  local load=(--scenario crossnode --subscribers "$SUBS" --rate "$RATE")

  step "pubsub, one node, memory broker: $*"
  start_server pubsub "$node1"
  # shellcheck disable=SC2046
  generator run --target pubsub --url "http://127.0.0.1:$node1" --server-pid "$server_pid" --diag \
    "${load[@]}" $(common_run_args) --label "$LABEL/1-node-memory" "$@" || true
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

  for broker in $CROSSNODE_BROKERS; do
    case "$broker" in
      redis)
        step "redis-server on 127.0.0.1:$redis_port (core $SERVER_CORE, no persistence)"
        start_redis "$redis_port"
        address="127.0.0.1:$redis_port"; broker_pids=(--server-pid "$redis_pid")
        # shellcheck disable=SC2206
        redis_args=(${PUBSUB_REDIS_ARGS//\{redis\}/$address}) ;;
      cluster)
        step "Redis Cluster, 3 masters on 127.0.0.1:$cluster_port..$((cluster_port + 2)) (core $SERVER_CORE, no persistence)"
        start_redis_cluster "$cluster_port"
        address="127.0.0.1:$cluster_port,127.0.0.1:$((cluster_port + 1)),127.0.0.1:$((cluster_port + 2))"
        broker_pids=()
        for pid in "${cluster_pids[@]}"; do broker_pids+=(--server-pid "$pid"); done
        # shellcheck disable=SC2206
        redis_args=(${PUBSUB_REDIS_ARGS//\{redis\}/$address} --PubSub:Redis:Mode=Cluster) ;;
      *) echo "unknown broker '$broker' in CROSSNODE_BROKERS (redis, cluster)" >&2; return 1 ;;
    esac

    step "pubsub, one node, $broker broker: $*"
    start_server pubsub "$node1" "${redis_args[@]}"
    # shellcheck disable=SC2046
    generator run --target pubsub --url "http://127.0.0.1:$node1" --server-pid "$server_pid" "${broker_pids[@]}" --diag \
      "${load[@]}" $(common_run_args) --label "$LABEL/1-node-$broker" "$@" || true
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

    step "pubsub, $CROSSNODE_NODES nodes, $broker broker: $*"
    local node urls=() node_pids=()
    for node in $(seq 1 "$CROSSNODE_NODES"); do
      start_server pubsub $((node1 + node - 1)) "${redis_args[@]}"
      urls+=(--url "http://127.0.0.1:$((node1 + node - 1))")
      node_pids+=(--server-pid "$server_pid")
    done
    local redis_before
    redis_before="$(cpu_ticks "${broker_pids[@]}")"
    # shellcheck disable=SC2046
    generator run --target pubsub "${urls[@]}" "${node_pids[@]}" "${broker_pids[@]}" --diag "${load[@]}" $(common_run_args) \
      --label "$LABEL/$CROSSNODE_NODES-nodes-$broker" "$@" || true
    # Redis's own share of the summed server CPU, for the capacity model (docs/benchmarks.md).
    echo "$LABEL/$CROSSNODE_NODES-nodes-$broker redis cpu ticks during the run (warm-up to drain): $(( $(cpu_ticks "${broker_pids[@]}") - redis_before )) at $(getconf CLK_TCK)/s" \
      | tee -a "$OUT/redis-cpu.txt" >&2
    stop_all
  done
}

# Where each idle connection's heap goes: the heap by type (ClrMD, bench/HeapStat) before and
# while $HEAP_CONNECTIONS idle connections are open, after a full GC each time.
run_heapstat() {
  local connections="${HEAP_CONNECTIONS:-2000}" port="$PORT_BASE" target gen
  [ "${NO_BUILD:-}" = 1 ] || dotnet build bench/HeapStat -c Release -nologo -v quiet "-clp:ErrorsOnly;NoSummary"
  local heapstat=(dotnet "$root/bench/HeapStat/bin/Release/net10.0/HeapStat.dll")
  for target in $TARGETS; do
    port=$((port + 1))
    step "$target: heap by type, $connections idle connections"
    start_server "$target" "$port"
    curl -fsS -o /dev/null "http://127.0.0.1:$port/debug/memory?gc=true"
    "${heapstat[@]}" count "$server_pid" > "$OUT/heap-$target-before.txt"
    # shellcheck disable=SC2046
    generator run --target "$target" --scenario idle --url "http://127.0.0.1:$port" --server-pid "$server_pid" --diag \
      --connections "$connections" --hold 20 $(common_run_args) "$@" &
    gen=$!
    for _ in $(seq 1 300); do
      [ "$(ss -Htn state established "( sport = :$port )" | wc -l)" -ge "$connections" ] && break
      sleep 0.2
    done
    sleep 2
    curl -fsS -o /dev/null "http://127.0.0.1:$port/debug/memory?gc=true"
    "${heapstat[@]}" count "$server_pid" > "$OUT/heap-$target-after.txt"
    wait "$gen" || true
    "${heapstat[@]}" diff "$OUT/heap-$target-before.txt" "$OUT/heap-$target-after.txt" "$connections" | tee "$OUT/heap-$target.txt"
    stop_all
  done
}

# What the figures were measured on, and how busy it was: absolute figures from a machine that
# was doing other work are not final (docs/benchmarks.md, "Method").
machine() {
  {
    echo "== $1 $(date -u +%Y-%m-%dT%H:%M:%SZ) scenario=$scenario label=$LABEL commit=$(git rev-parse --short HEAD 2>/dev/null || echo -)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$1" = start ]; then
      echo "nproc: $(nproc)"
      lscpu | grep -E 'Model name|Hypervisor vendor|^CPU\(s\)'
      uname -srm
      dotnet --list-runtimes
      echo "open files limit: $(ulimit -n) (hard $(ulimit -Hn))"
    fi
  } >> "$OUT/machine.txt"
  local load
  load="$(cut -d' ' -f1 /proc/loadavg)"
  if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "warning: load average $load at $1: the machine is doing other work, so these figures are not final" >&2
  fi
}

build
machine start
case "$scenario" in
  sweep) run_sweep "$@" ;;
  fanout) run_fanout "$@" ;;
  channels) run_channels "$@" ;;
  publish-heavy) run_publish_heavy "$@" ;;
  storm) run_storm "$@" ;;
  transports) run_transports "$@" ;;
  encodings) run_encodings "$@" ;;
  idle) run_idle "$@" ;;
  crossnode) run_crossnode "$@" ;;
  heapstat) run_heapstat "$@" ;;
  presence) run_presence "$@" ;;
  all)
    run_sweep "$@"; run_channels "$@"; run_transports "$@"; run_encodings "$@"; run_idle "$@"; run_heapstat
    run_crossnode "$@" || echo "(crossnode skipped)" >&2
    ;;
  *) echo "unknown scenario '$scenario'" >&2; sed -n '2,47p' "$0"; exit 2 ;;
esac
machine end
compare
