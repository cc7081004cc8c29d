import type { Backoff } from "./Backoff.js";
import type { TransportSelector } from "./TransportSelector.js";
import { ALL_TRANSPORTS } from "./types.js";
import type { Encoding, FetchFunction, Logger, PubSubClientOptions, ReconnectOptions, TransportName } from "./types.js";

/** The defaults of PubSubClientOptions (ms, bytes); PubSubClient exposes them as `Default...`. */
export const Defaults = {
  negotiateTimeout: 10_000,
  requestTimeout: 30_000,
  heartbeatMargin: 10_000,
  probeInterval: 30_000,
  maxQueueBytes: 1024 * 1024,
  sendBufferLimit: 64 * 1024,
  publishRetries: 3,
} as const;

/** The client's options with their defaults applied. */
export interface ClientSettings {
  readonly transports: readonly TransportName[];
  readonly encoding: Encoding;
  readonly reconnect: boolean;
  readonly maxAttempts: number;
  readonly negotiate: boolean;
  readonly transportTimeout: number | undefined;
  readonly negotiateTimeout: number;
  readonly requestTimeout: number;
  readonly heartbeatMargin: number;
  readonly probeInterval: number;
  readonly maxQueueBytes: number;
  readonly sendBufferLimit: number;
  readonly publishRetries: number;
}

/** What the supervisor is given: the settings, and how to reach the server. */
export interface SupervisorParts {
  readonly base: URL;
  readonly settings: ClientSettings;
  readonly backoff: Backoff;
  readonly selector: TransportSelector;
  readonly fetch: FetchFunction;
  readonly token: PubSubClientOptions["token"];
  readonly WebSocket: PubSubClientOptions["WebSocket"];
  readonly EventSource: PubSubClientOptions["EventSource"];
  readonly withCredentials: boolean;
  readonly logger: Logger | null;
}

/** Checks the options and applies their defaults; throws a TypeError that names what is wrong. */
export function resolveSettings(options: PubSubClientOptions): { settings: ClientSettings; reconnectOptions: ReconnectOptions } {
  const reconnect = options.reconnect ?? true;
  const reconnectOptions = typeof reconnect === "object" ? reconnect : {};
  const transports = options.transports ?? [...ALL_TRANSPORTS];
  for (const name of transports) {
    if (!ALL_TRANSPORTS.includes(name)) {
      throw new TypeError(`Unknown transport '${String(name)}'; use ${ALL_TRANSPORTS.map((t) => `'${t}'`).join(", ")}.`);
    }
  }
  if (transports.length === 0) {
    throw new TypeError("`transports` must name at least one transport.");
  }
  const encoding = options.encoding ?? "json";
  if (encoding !== "json" && encoding !== "msgpack") {
    throw new TypeError(`Unknown encoding '${String(encoding)}'; use 'json' or 'msgpack'.`);
  }
  const publishRetries = options.publishRetries ?? Defaults.publishRetries;
  if (!Number.isInteger(publishRetries) || publishRetries < 0) {
    throw new TypeError(`\`publishRetries\` must be a whole number, 0 or more; it is ${String(publishRetries)}.`);
  }
  const settings: ClientSettings = {
    transports: [...transports],
    encoding,
    reconnect: reconnect !== false,
    maxAttempts: reconnectOptions.maxAttempts ?? Infinity,
    negotiate: options.negotiate ?? true,
    transportTimeout: options.transportTimeout,
    negotiateTimeout: options.negotiateTimeout ?? Defaults.negotiateTimeout,
    requestTimeout: options.requestTimeout ?? Defaults.requestTimeout,
    heartbeatMargin: options.heartbeatMargin ?? Defaults.heartbeatMargin,
    probeInterval: options.probeInterval ?? Defaults.probeInterval,
    maxQueueBytes: options.maxQueueBytes ?? Defaults.maxQueueBytes,
    sendBufferLimit: options.sendBufferLimit ?? Defaults.sendBufferLimit,
    publishRetries,
  };
  return { settings, reconnectOptions };
}
