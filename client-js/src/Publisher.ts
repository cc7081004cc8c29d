import { Backoff } from "./Backoff.js";
import { publishRequest, readPosition } from "./frames.js";
import type { ClientRequest } from "./frames.js";
import { PubSubError } from "./PubSubError.js";
import type { RequestTracker } from "./RequestTracker.js";
import { retryRule } from "./rules.js";
import type { PublishOptions, StreamPosition } from "./types.js";

/** 16 random bytes in base64url without padding: 22 characters, 128 bits, as unguessable as a session id. */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let text = "";
  for (const byte of bytes) {
    text += String.fromCharCode(byte);
  }
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Whether a failed publish is sent again: when its outcome is unknown (`connection_lost`: the
 * connection dropped before the reply) or the server could not take it now (a code whose retry
 * rule is `later` or `reconnect`: `unavailable`, `timeout`, ...). Refusals (`forbidden`,
 * `bad_request`, `message_too_large`, a hook's own code) are final, and so is the client's own
 * `timeout`: the request's time is up.
 */
export function isRetriable(error: PubSubError, fromServer: boolean): boolean {
  if (!fromServer) {
    return error.code === "connection_lost";
  }
  const rule = retryRule(error.code);
  return rule === "later" || rule === "reconnect";
}

/**
 * Sends publishes, and sends again those that may not have been published (isRetriable), up to
 * `retries` more times, always with the same idempotency key, so the server publishes each at
 * most once. All attempts share the request timeout, counted from the first send: a publish
 * settles within `timeout` ms whatever happens. A publish that lost its connection goes again as
 * soon as there is one (it waits in the backlog while the client reconnects); one the server
 * could not take waits a short backoff first (RetryInitialDelay, doubling to RetryMaxDelay).
 */
export class Publisher {
  static readonly RetryInitialDelay = 100;
  static readonly RetryMaxDelay = 2000;

  constructor(
    private readonly requests: RequestTracker,
    private readonly retries: number,
    private readonly timeout: number,
  ) {}

  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<StreamPosition> {
    let request: ClientRequest;
    try {
      // Only a publish that may be retried needs a key of the client's making.
      const key = options.idempotencyKey !== undefined ? options.idempotencyKey : this.retries > 0 ? newIdempotencyKey() : undefined;
      request = publishRequest(channel, data, key);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<StreamPosition>((resolve, reject) => {
      new PublishAttempts(this.requests, request, this.retries, Date.now() + this.timeout, resolve, reject).send();
    });
  }
}

/** One publish's attempts: its remaining retries and time, and how it settles. */
class PublishAttempts {
  private readonly backoff = new Backoff(Publisher.RetryInitialDelay, Publisher.RetryMaxDelay);

  constructor(
    private readonly requests: RequestTracker,
    private readonly request: ClientRequest,
    private retriesLeft: number,
    private readonly deadline: number,
    private readonly resolve: (position: StreamPosition) => void,
    private readonly reject: (error: PubSubError) => void,
  ) {}

  send(): void {
    this.requests.send(this.request, "bulk", {
      onReply: (reply) => {
        if (reply.error === undefined) {
          this.settle(reply.result!);
          return;
        }
        const error = new PubSubError(reply.error.code, reply.error.message);
        this.failed(error, true);
      },
      onFailed: (error) => this.failed(error, false),
    }, null, Math.max(1, this.deadline - Date.now()));
  }

  private settle(result: Record<string, unknown>): void {
    try {
      this.resolve(readPosition(result));
    } catch (error) {
      this.reject(error as PubSubError);
    }
  }

  private failed(error: PubSubError, fromServer: boolean): void {
    const delay = fromServer ? this.backoff.next() : 0;
    if (this.retriesLeft <= 0 || !isRetriable(error, fromServer) || Date.now() + delay >= this.deadline) {
      this.reject(error);
      return;
    }
    this.retriesLeft--;
    if (delay === 0) {
      this.send();
    } else {
      setTimeout(() => this.send(), delay);
    }
  }
}
