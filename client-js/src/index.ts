// The whole public surface of @pubsub/client.

export { PubSubClient } from "./PubSubClient.js";
export { Subscription } from "./Subscription.js";
export { PubSubError, ErrorCodes } from "./PubSubError.js";
export type { PubSubErrorDetails } from "./PubSubError.js";
export { Emitter } from "./Emitter.js";
export type { Listener } from "./Emitter.js";
export { ALL_TRANSPORTS } from "./types.js";
export type {
  ClientEvents,
  ConnectedEvent,
  ConnectionState,
  DisconnectedEvent,
  Encoding,
  EventSourceConstructor,
  EventSourceLike,
  FetchFunction,
  HistoryOptions,
  HistoryPublication,
  HistoryResult,
  JoinLeaveEvent,
  Logger,
  Message,
  MissedEvent,
  PresenceMember,
  PresenceResult,
  PresenceStats,
  PublicationData,
  PublishOptions,
  PubSubClientOptions,
  ReconnectOptions,
  StateChange,
  StreamPosition,
  SubscribedEvent,
  SubscribeOptions,
  SubscriptionEvents,
  SubscriptionOrigin,
  SubscriptionState,
  TransportName,
  TransportStorage,
  UnsubscribedEvent,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
