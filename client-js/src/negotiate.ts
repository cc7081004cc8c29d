import { endpoint, fetchWithin, httpError } from "./http.js";
import type { HttpContext } from "./http.js";
import { PubSubError } from "./PubSubError.js";

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

const terminalErrors = new WeakSet<PubSubError>();

/** Whether retrying cannot help: the server refused the client itself, or speaks another protocol. */
export function isTerminal(error: PubSubError): boolean {
  return terminalErrors.has(error);
}

export function markTerminal(error: PubSubError): PubSubError {
  terminalErrors.add(error);
  return error;
}

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
    const error = await httpError(response, url);
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw retryable ? error : markTerminal(error);
  }
  let body: Partial<NegotiateInfo>;
  try {
    body = (await response.json()) as Partial<NegotiateInfo>;
  } catch (error) {
    throw new PubSubError("bad_frame", `${url.pathname} did not return JSON.`, { cause: error });
  }
  if (body.version !== PROTOCOL_VERSION) {
    throw markTerminal(new PubSubError("bad_request",
      `The server speaks protocol version ${String(body.version)}; this client speaks version ${PROTOCOL_VERSION}.`));
  }
  if (!Array.isArray(body.transports)) {
    throw new PubSubError("bad_frame", `${url.pathname} returned no 'transports' list.`);
  }
  return {
    info: {
      version: body.version,
      node: String(body.node ?? ""),
      transports: body.transports.map(String),
      encodings: Array.isArray(body.encodings) ? body.encodings.map(String) : ["json"],
      ping: typeof body.ping === "number" ? body.ping : 0,
      pollTimeout: typeof body.pollTimeout === "number" ? body.pollTimeout : 25,
      maxMessageSize: typeof body.maxMessageSize === "number" ? body.maxMessageSize : 65_536,
    },
    rtt,
  };
}
