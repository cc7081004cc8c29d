/**
 * The error codes a PubSubError can carry. The first group comes from the server
 * (docs/protocol.md, section 2.7); application hooks on the server may use codes of their own, so
 * `code` is any string. The second group is raised by this client.
 */
export const ErrorCodes = {
  // From the server.
  BadRequest: "bad_request",
  UnknownType: "unknown_type",
  MessageTooLarge: "message_too_large",
  InvalidChannel: "invalid_channel",
  UnknownChannel: "unknown_channel",
  AlreadySubscribed: "already_subscribed",
  NotSubscribed: "not_subscribed",
  Forbidden: "forbidden",
  TooManySubscriptions: "too_many_subscriptions",
  EpochMismatch: "epoch_mismatch",
  SessionNotFound: "session_not_found",
  Unauthorized: "unauthorized",
  Unavailable: "unavailable",
  Internal: "internal",
  /** The node holds as many sessions as it may; another node may take the client. */
  OverCapacity: "over_capacity",
  /** The user or the client's address holds as many sessions on the node as it may. */
  TooManyConnections: "too_many_connections",
  /** Connects or publishes come faster than the node's limit allows. */
  RateLimited: "rate_limited",
  /** The channel has as many subscribers on the node as it may. */
  TooManySubscribers: "too_many_subscribers",
  /** A `presence` or `presence_stats` request for a channel whose template does not keep presence. */
  PresenceDisabled: "presence_disabled",
  // The server's "timeout" (the broker did not confirm in time) shares the name of the client's
  // own, below, and its meaning: the request may or may not have taken effect.

  // From this client.
  /** The client was closed (by `close()` or a disconnect the server says not to retry) before the request completed. */
  Closed: "closed",
  /** The connection dropped after the request was sent: it may or may not have taken effect. */
  ConnectionLost: "connection_lost",
  /** No answer in time: a request's reply, a negotiate response, or a transport's `connected` frame; from the server, its broker did not confirm in time. Either way the outcome is unknown. */
  Timeout: "timeout",
  /** The outbound queue is full (`maxQueueBytes`): the connection is down or the network is slower than the publisher. */
  QueueFull: "queue_full",
  /** None of the client's transports is offered by the server. */
  NoTransport: "no_transport",
  /** A transport failed to connect, or a connection failed. */
  TransportFailed: "transport_failed",
  /** The server sent something that is not a valid frame. */
  BadFrame: "bad_frame",
  /** The server ended the session and said not to reconnect (disconnect codes 4500–4999). */
  Disconnected: "disconnected",
} as const;

/** Details that some errors carry. */
export interface PubSubErrorDetails {
  /** The HTTP status of a failed HTTP request. */
  status?: number;
  /** The code of the server's `disconnect` frame or WebSocket close frame. */
  disconnectCode?: number;
  /** The reason of the server's `disconnect` frame or WebSocket close frame, as the server wrote it. */
  disconnectReason?: string;
  /** See {@link PubSubError.terminal}. Default false. */
  terminal?: boolean;
  cause?: unknown;
}

/** An error with a machine-readable code: one of {@link ErrorCodes}, or an application hook's own. */
export class PubSubError extends Error {
  override readonly name = "PubSubError";
  readonly code: string;
  readonly status: number | undefined;
  readonly disconnectCode: number | undefined;
  readonly disconnectReason: string | undefined;
  /**
   * True when connecting again cannot help, so the client closes with this error instead of
   * retrying: the server refused the client itself (a 4xx from negotiate), speaks another
   * protocol version, offers none of the client's transports, or ended the session for good
   * (disconnect codes 4500-4999). It is the error's own fact, decided where the error is made.
   */
  readonly terminal: boolean;

  constructor(code: string, message: string, details: PubSubErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.disconnectCode = details.disconnectCode;
    this.disconnectReason = details.disconnectReason;
    this.terminal = details.terminal ?? false;
  }
}
