import { endpoint, fetchWithin, httpError } from "./http.js";
import type { HttpContext } from "./http.js";
import { PubSubError } from "./PubSubError.js";
import type { Encoding } from "./types.js";

/** The body of `GET {prefix}/negotiate` (docs/protocol.md, section 3.1). */
export interface NegotiateInfo {
  version: number;
  node: string;
  /** The transports the node offers, in its order of preference. */
  transports: string[];
  encodings: string[];
  /** Seconds between heartbeats. */
  ping: number;
  /** Seconds a long-poll is held. */
  pollTimeout: number;
  maxMessageSize: number;
}

export interface Negotiated {
  info: NegotiateInfo;
  /** The request's round trip in ms, which sizes the transports' connect timeouts. */
  rtt: number;
}

/** The protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

/** What a node that does not say (negotiation off, or an older node) is assumed to use (section 3.1). */
export const DEFAULT_MAX_MESSAGE_SIZE = 65_536;
export const DEFAULT_POLL_TIMEOUT_SECONDS = 25;

/**
 * Asks the node what it offers, timing the request as a round-trip measurement (the endpoint does
 * no work beyond formatting, so its time is the network's). An answer of 4xx other than 408 and
 * 429 is terminal (a wrong URL, a refused origin or credential: retrying would only repeat it);
 * a network failure, a timeout or a 5xx is worth retrying.
 */
export async function negotiate(http: HttpContext, timeoutMs: number, cancel: AbortSignal): Promise<Negotiated> {
  const url = endpoint(http.base, "negotiate");
  const started = Date.now();
  const response = await fetchWithin(http, url, { method: "GET" }, timeoutMs, cancel);
  const rtt = Date.now() - started;
  if (!response.ok) {
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw await httpError(response, url, !retryable);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new PubSubError("bad_frame", `${url.pathname} did not return JSON.`, { cause: error });
  }
  return { info: parseNegotiate(body, url.pathname), rtt };
}

/** The encoding a client that wants `wanted` uses with a server that offers `offered` (null: not asked): `wanted` when offered, else JSON. */
export function negotiatedEncoding(wanted: Encoding, offered: readonly string[] | null): Encoding {
  return offered === null || offered.includes(wanted) ? wanted : "json";
}

/**
 * Reads a negotiate answer. Fields a newer server adds are ignored; a missing optional field
 * takes the protocol's default. Another protocol version is terminal: retrying cannot change it.
 */
export function parseNegotiate(value: unknown, source = "negotiate"): NegotiateInfo {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    // Not the node's answer (a proxy's, say): worth trying again, unlike an answer in another version.
    throw new PubSubError("bad_frame", `${source} did not return a JSON object.`);
  }
  const body = value as Partial<NegotiateInfo>;
  if (body.version !== PROTOCOL_VERSION) {
    throw new PubSubError("bad_request",
      `The server speaks protocol version ${String(body.version)}; this client speaks version ${PROTOCOL_VERSION}.`, { terminal: true });
  }
  if (!Array.isArray(body.transports)) {
    throw new PubSubError("bad_frame", `${source} returned no 'transports' list.`);
  }
  return {
    version: body.version,
    node: String(body.node ?? ""),
    transports: body.transports.map(String),
    encodings: Array.isArray(body.encodings) ? body.encodings.map(String) : ["json"],
    ping: typeof body.ping === "number" ? body.ping : 0,
    pollTimeout: typeof body.pollTimeout === "number" ? body.pollTimeout : DEFAULT_POLL_TIMEOUT_SECONDS,
    maxMessageSize: typeof body.maxMessageSize === "number" ? body.maxMessageSize : DEFAULT_MAX_MESSAGE_SIZE,
  };
}
