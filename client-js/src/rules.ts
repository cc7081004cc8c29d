// The protocol's rules that decide what the client does after a failure, one place each. They are
// protocol/error-codes.json's `retry` column and protocol/disconnect-codes.json's ranges, and
// test/unit/vectors.test.ts checks them against those files, so the two cannot drift apart.

/**
 * What a client does after a request failed with a code: `never` (asking again gets the same
 * answer), `later` (the failure may pass by itself: ask again after a backoff), `reconnect` (the
 * session is gone: reconnect and recover).
 */
export type RetryRule = "never" | "later" | "reconnect";

const RETRY_RULES: Readonly<Record<string, RetryRule>> = {
  // From the server (docs/protocol.md, section 2.7).
  bad_request: "never",
  unknown_type: "never",
  message_too_large: "never",
  invalid_channel: "never",
  unknown_channel: "never",
  already_subscribed: "never",
  not_subscribed: "never",
  forbidden: "never",
  too_many_subscriptions: "never",
  epoch_mismatch: "never",
  session_not_found: "reconnect",
  unauthorized: "never",
  unavailable: "later",
  timeout: "later",
  internal: "later",
  // The node's limits: each may pass (a place frees, a token bucket refills).
  over_capacity: "later",
  too_many_connections: "later",
  rate_limited: "later",
  too_many_subscribers: "later",
  presence_disabled: "never",
  // Raised by the client itself.
  connection_lost: "never",
  closed: "never",
  bad_frame: "reconnect",
  transport_failed: "reconnect",
  no_transport: "never",
  // Client codes that protocol/error-codes.json does not list (yet): a full queue says the
  // application outpaces the network, and `disconnected` is a final disconnect (4500-4999).
  queue_full: "never",
  disconnected: "never",
};

/** The retry rule of an error code; an application hook's own code is `never`: the client cannot know it passes. */
export function retryRule(code: string): RetryRule {
  return Object.prototype.hasOwnProperty.call(RETRY_RULES, code) ? RETRY_RULES[code]! : "never";
}

/** Every code the client has a rule for. */
export function knownCodes(): string[] {
  return Object.keys(RETRY_RULES);
}

/**
 * Whether the client reconnects after a session ended with this disconnect or WebSocket close code
 * (section 2.8): 4000-4499 yes, 4500-4999 never; RFC 6455 codes (1006 abnormal closure, 1011
 * server error, ...) are network or server trouble, so yes.
 */
export function reconnectsAfter(code: number): boolean {
  return !(code >= 4500 && code <= 4999);
}

/** Whether a close code is one of the protocol's own (4000-4999) rather than RFC 6455's. */
export function isProtocolCode(code: number): boolean {
  return code >= 4000 && code <= 4999;
}
