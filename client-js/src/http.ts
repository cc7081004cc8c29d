// HTTP plumbing shared by negotiate, long-polling and /send: URLs, credentials, timeouts, and the
// error bodies of docs/protocol.md section 3.7.

import { PubSubError } from "./PubSubError.js";
import type { FetchFunction, PubSubClientOptions } from "./types.js";

/** What every request of one connect attempt shares. */
export interface HttpContext {
  /** The endpoints' prefix, such as `http://localhost:5000/pubsub`. */
  readonly base: URL;
  readonly token: string | null;
  readonly withCredentials: boolean;
  readonly fetch: FetchFunction;
}

/** The URL of the endpoint `path` under the prefix, with query parameters (those of the prefix URL kept). */
export function endpoint(base: URL, path: string, query: Record<string, string> = {}): URL {
  const url = new URL(base.href);
  url.pathname = url.pathname.replace(/\/+$/, "") + "/" + path;
  url.hash = "";
  for (const [name, value] of Object.entries(query)) {
    url.searchParams.set(name, value);
  }
  return url;
}

/** The request options that carry credentials: the token as a bearer header, cookies when asked. */
export function requestInit(http: HttpContext, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  if (http.token !== null) {
    headers.set("Authorization", `Bearer ${http.token}`);
  }
  return { ...init, headers, credentials: http.withCredentials ? "include" : "same-origin" };
}

/**
 * fetch with a deadline. Rejects with a `timeout` PubSubError when the deadline passes, with a
 * `transport_failed` one when the network fails, and with a `closed` one when `cancel` fires.
 */
export async function fetchWithin(
  http: HttpContext,
  url: URL,
  init: RequestInit,
  timeoutMs: number,
  cancel?: AbortSignal,
): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const onCancel = (): void => controller.abort();
  cancel?.addEventListener("abort", onCancel);
  try {
    return await http.fetch(url.href, { ...requestInit(http, init), signal: controller.signal });
  } catch (error) {
    if (timedOut) {
      throw new PubSubError("timeout", `${init.method ?? "GET"} ${url.pathname} got no response within ${timeoutMs} ms.`);
    }
    if (cancel?.aborted) {
      throw new PubSubError("closed", `${init.method ?? "GET"} ${url.pathname} was cancelled.`);
    }
    throw new PubSubError("transport_failed", `${init.method ?? "GET"} ${url.pathname} failed: ${describe(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener("abort", onCancel);
  }
}

/** Reads a response body, as bytes or as text, mapping a failure mid-body to `transport_failed`. */
export async function readBody(response: Response, url: URL, binary: boolean): Promise<string | Uint8Array> {
  try {
    return binary ? new Uint8Array(await response.arrayBuffer()) : await response.text();
  } catch (error) {
    throw new PubSubError("transport_failed", `Reading the response of ${url.pathname} failed: ${describe(error)}`, { cause: error });
  }
}

/** The PubSubError of a failed response: the code and message of its body, or ones made from the status. */
export async function httpError(response: Response, url: URL, terminal = false): Promise<PubSubError> {
  let text = "";
  try {
    text = await response.text();
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === "string") {
      const message = typeof body.error.message === "string" ? body.error.message : text;
      return new PubSubError(body.error.code, message, { status: response.status, terminal });
    }
  } catch {
    // Not the protocol's error body (a proxy's page, say): fall through to the status.
  }
  const code = STATUS_CODES[response.status] ?? "transport_failed";
  const detail = text.trim() === "" ? "" : `: ${text.trim().slice(0, 200)}`;
  return new PubSubError(code, `${url.pathname} answered ${response.status}${detail}`, { status: response.status, terminal });
}

const STATUS_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  413: "message_too_large",
  429: "rate_limited",
  503: "unavailable",
  504: "timeout",
};

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/** A PubSubError as it is, anything else thrown (a network error, a bug in a listener) as `transport_failed`. */
export function asPubSubError(error: unknown): PubSubError {
  return error instanceof PubSubError ? error : new PubSubError("transport_failed", describe(error), { cause: error });
}

/** The token for the next connect: the option's string, or what its function returns now (so an expired one is refreshed). */
export async function resolveToken(source: PubSubClientOptions["token"]): Promise<string | null> {
  if (source === undefined) {
    return null;
  }
  if (typeof source === "string") {
    return source;
  }
  try {
    return await source();
  } catch (error) {
    throw new PubSubError("unauthorized", `The token function failed: ${describe(error)}`, { cause: error });
  }
}
