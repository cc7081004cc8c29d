/* @pubsub/client 0.1.0: the PubSub browser client (global `PubSub`). Generated from client-js/src by `npm run bundle:host`; do not edit. */
"use strict";
var PubSub = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // src/index.ts
  var index_exports = {};
  __export(index_exports, {
    ALL_TRANSPORTS: () => ALL_TRANSPORTS,
    Emitter: () => Emitter,
    ErrorCodes: () => ErrorCodes,
    PubSubClient: () => PubSubClient,
    PubSubError: () => PubSubError,
    Subscription: () => Subscription
  });

  // src/Backoff.ts
  var _Backoff = class _Backoff {
    constructor(initialDelay = _Backoff.DefaultInitialDelay, maxDelay = _Backoff.DefaultMaxDelay, random = Math.random) {
      this.initialDelay = initialDelay;
      this.maxDelay = maxDelay;
      this.random = random;
      this.failures = 0;
      if (!(initialDelay > 0) || !(maxDelay >= initialDelay)) {
        throw new RangeError(`Backoff needs 0 < initialDelay <= maxDelay; got ${initialDelay} and ${maxDelay}.`);
      }
    }
    /** How many delays were handed out since the last reset. */
    get attempts() {
      return this.failures;
    }
    /** The delay before the next attempt, in ms. */
    next() {
      const cap = Math.min(this.maxDelay, this.initialDelay * 2 ** this.failures);
      this.failures++;
      return Math.floor(this.random() * cap);
    }
    reset() {
      this.failures = 0;
    }
  };
  _Backoff.DefaultInitialDelay = 1e3;
  _Backoff.DefaultMaxDelay = 3e4;
  var Backoff = _Backoff;

  // src/PubSubError.ts
  var ErrorCodes = {
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
    Disconnected: "disconnected"
  };
  var PubSubError = class extends Error {
    constructor(code, message, details = {}) {
      super(message, details.cause === void 0 ? void 0 : { cause: details.cause });
      this.name = "PubSubError";
      this.code = code;
      this.status = details.status;
      this.disconnectCode = details.disconnectCode;
    }
  };

  // src/frames.ts
  var BATCH_SEPARATOR = "\n";
  function splitBatch(batch) {
    const lines = [];
    for (const line of batch.split(BATCH_SEPARATOR)) {
      if (line.trim() !== "") {
        lines.push(line);
      }
    }
    return lines;
  }
  function parseFrame(line) {
    let value;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw badFrame("is not valid JSON", line);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw badFrame("is not a JSON object", line);
    }
    const frame = value;
    if (typeof frame.type !== "string") {
      throw badFrame("has no string 'type'", line);
    }
    const required = REQUIRED_FIELDS[frame.type];
    if (required) {
      for (const [field, kind] of required) {
        if (typeof frame[field] !== kind) {
          throw badFrame(`lacks ${kind} '${field}'`, line);
        }
      }
    }
    if (frame.type === "reply" && !isObject(frame.result) && !isObject(frame.error)) {
      throw badFrame("has neither 'result' nor 'error'", line);
    }
    return frame;
  }
  var REQUIRED_FIELDS = {
    connected: [["session", "string"], ["node", "string"], ["transport", "string"], ["ping", "number"]],
    reply: [["id", "number"]],
    error: [["code", "string"], ["message", "string"]],
    message: [["channel", "string"], ["offset", "number"], ["epoch", "string"]],
    subscribed: [["channel", "string"], ["offset", "number"], ["epoch", "string"]],
    unsubscribed: [["channel", "string"], ["code", "string"]],
    disconnect: [["code", "number"], ["reconnect", "boolean"]]
  };
  function isObject(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }
  function badFrame(problem, line) {
    const sample = line.length > 120 ? line.slice(0, 120) + "\u2026" : line;
    return new PubSubError("bad_frame", `The server sent a frame that ${problem}: ${sample}`);
  }
  function deliverLines(lines, sink, stillOpen) {
    for (const line of lines) {
      if (!stillOpen()) {
        return;
      }
      let frame;
      try {
        frame = parseFrame(line);
      } catch (error) {
        sink.onBadFrame(error);
        continue;
      }
      sink.onFrame(frame);
    }
  }
  function sessionCapturingSink(sink, onSession) {
    let captured = false;
    return {
      onFrame: (frame) => {
        if (!captured && frame.type === "connected") {
          captured = true;
          onSession(frame.session);
        }
        sink.onFrame(frame);
      },
      onBadFrame: (error) => sink.onBadFrame(error)
    };
  }

  // src/http.ts
  function endpoint(base, path, query = {}) {
    const url = new URL(base.href);
    url.pathname = url.pathname.replace(/\/+$/, "") + "/" + path;
    url.hash = "";
    for (const [name, value] of Object.entries(query)) {
      url.searchParams.set(name, value);
    }
    return url;
  }
  function requestInit(http, init = {}) {
    const headers = new Headers(init.headers);
    if (http.token !== null) {
      headers.set("Authorization", `Bearer ${http.token}`);
    }
    return { ...init, headers, credentials: http.withCredentials ? "include" : "same-origin" };
  }
  async function fetchWithin(http, url, init, timeoutMs, cancel) {
    var _a, _b, _c;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onCancel = () => controller.abort();
    cancel == null ? void 0 : cancel.addEventListener("abort", onCancel);
    try {
      return await http.fetch(url.href, { ...requestInit(http, init), signal: controller.signal });
    } catch (error) {
      if (timedOut) {
        throw new PubSubError("timeout", `${(_a = init.method) != null ? _a : "GET"} ${url.pathname} got no response within ${timeoutMs} ms.`);
      }
      if (cancel == null ? void 0 : cancel.aborted) {
        throw new PubSubError("closed", `${(_b = init.method) != null ? _b : "GET"} ${url.pathname} was cancelled.`);
      }
      throw new PubSubError("transport_failed", `${(_c = init.method) != null ? _c : "GET"} ${url.pathname} failed: ${describe(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      cancel == null ? void 0 : cancel.removeEventListener("abort", onCancel);
    }
  }
  async function readText(response, url) {
    try {
      return await response.text();
    } catch (error) {
      throw new PubSubError("transport_failed", `Reading the response of ${url.pathname} failed: ${describe(error)}`, { cause: error });
    }
  }
  async function httpError(response, url) {
    var _a, _b;
    let text = "";
    try {
      text = await response.text();
      const body = JSON.parse(text);
      if (typeof ((_a = body.error) == null ? void 0 : _a.code) === "string") {
        const message = typeof body.error.message === "string" ? body.error.message : text;
        return new PubSubError(body.error.code, message, { status: response.status });
      }
    } catch (e) {
    }
    const code = (_b = STATUS_CODES[response.status]) != null ? _b : "transport_failed";
    const detail = text.trim() === "" ? "" : `: ${text.trim().slice(0, 200)}`;
    return new PubSubError(code, `${url.pathname} answered ${response.status}${detail}`, { status: response.status });
  }
  var STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    413: "message_too_large",
    503: "unavailable",
    504: "timeout"
  };
  function describe(error) {
    if (error instanceof Error) {
      const cause = error.cause;
      return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
    }
    return String(error);
  }

  // src/HttpSender.ts
  var HttpSender = class {
    constructor(context, session, onWritable, onFailed) {
      this.context = context;
      this.session = session;
      this.onWritable = onWritable;
      this.onFailed = onFailed;
      this.inFlight = false;
      this.closed = false;
      this.cancel = new AbortController();
    }
    get idle() {
      return !this.inFlight && !this.closed && this.session() !== null;
    }
    send(batch) {
      const session = this.session();
      if (session === null) {
        throw new PubSubError("transport_failed", "Cannot send before the session is connected.");
      }
      this.inFlight = true;
      void this.post(session, batch);
    }
    /** Stops reporting. A request in flight is left to finish: aborting it would not un-send it. */
    close() {
      this.closed = true;
    }
    /**
     * Tells the server the session is over (a `close` frame), so it releases the session's
     * subscriptions now instead of after the poll grace period. Nothing waits for the answer, and
     * `keepalive` lets the request outlive a page that is unloading.
     */
    leave() {
      const session = this.session();
      if (session === null) {
        return;
      }
      const init = requestInit(this.context, {
        method: "POST",
        body: '{"type":"close"}',
        keepalive: true,
        headers: { "Content-Type": "text/plain;charset=UTF-8" }
      });
      this.context.fetch(endpoint(this.context.base, "send", { session }).href, init).catch(() => {
      });
    }
    /** Aborts a request in flight too (when the whole client closes). */
    abort() {
      this.closed = true;
      this.cancel.abort();
    }
    async post(session, batch) {
      const url = endpoint(this.context.base, "send", { session });
      try {
        const response = await fetchWithin(
          this.context,
          url,
          { method: "POST", body: batch, headers: { "Content-Type": "text/plain;charset=UTF-8" } },
          this.context.requestTimeout,
          this.cancel.signal
        );
        if (this.closed) {
          return;
        }
        if (!response.ok) {
          this.onFailed(await httpError(response, url));
          return;
        }
        this.inFlight = false;
        this.onWritable();
      } catch (error) {
        if (!this.closed) {
          this.onFailed(error);
        }
      }
    }
  };

  // src/HttpTransport.ts
  var HttpTransport = class {
    constructor(context, handler) {
      this.context = context;
      this.handler = handler;
      this.session = null;
      this.closed = false;
      this.sender = new HttpSender(
        context,
        () => this.session,
        () => handler.onWritable(),
        (error) => this.finish(error)
      );
    }
    canSend() {
      return !this.closed && this.sender.idle;
    }
    send(batch) {
      this.sender.send(batch);
    }
    close() {
      if (this.closed) {
        return;
      }
      this.sender.leave();
      this.end();
    }
    finish(error) {
      if (this.closed) {
        return;
      }
      this.end();
      this.handler.onClose({ error });
    }
    end() {
      this.closed = true;
      this.sender.close();
      this.stop();
    }
  };

  // src/LongPollingTransport.ts
  var _LongPollingTransport = class _LongPollingTransport extends HttpTransport {
    constructor() {
      super(...arguments);
      this.name = "long-polling";
      /** The number of frames received on this session. */
      this.received = 0;
      this.cancel = new AbortController();
    }
    /** Frames received so far (what the next poll acknowledges). */
    get count() {
      return this.received;
    }
    open() {
      void this.run();
    }
    stop() {
      clearTimeout(this.retryTimer);
      this.cancel.abort();
    }
    async run() {
      let failures = 0;
      while (!this.closed) {
        const ack = this.received;
        const url = this.session === null ? endpoint(this.context.base, "poll") : endpoint(this.context.base, "poll", { session: this.session, ack: String(ack) });
        const timeout = this.session === null ? this.context.requestTimeout : this.context.pollTimeout + _LongPollingTransport.PollTimeoutMargin;
        let body;
        try {
          const response = await fetchWithin(this.context, url, { method: "GET" }, timeout, this.cancel.signal);
          if (this.closed) {
            return;
          }
          if (!response.ok) {
            this.finish(await httpError(response, url));
            return;
          }
          body = await readText(response, url);
        } catch (error) {
          if (this.closed) {
            return;
          }
          failures++;
          if (this.session === null || failures > _LongPollingTransport.MaxPollRetries) {
            this.finish(error);
            return;
          }
          await this.delay(_LongPollingTransport.PollRetryDelay * 2 ** (failures - 1));
          continue;
        }
        failures = 0;
        if (this.closed) {
          return;
        }
        this.deliver(splitBatch(body), ack);
      }
    }
    /** Delivers the frames of a response to a poll that acknowledged `ack`: frame i is number ack + 1 + i. */
    deliver(lines, ack) {
      const sink = sessionCapturingSink(this.handler, (session) => {
        var _a;
        return (_a = this.session) != null ? _a : this.session = session;
      });
      const fresh = lines.slice(Math.max(0, this.received - ack));
      this.received = Math.max(this.received, ack + lines.length);
      if (this.session === null && lines.length === 0) {
        this.finish(new PubSubError("bad_frame", "The first poll returned no frames; expected 'connected'."));
        return;
      }
      deliverLines(fresh, sink, () => !this.closed);
      if (this.session === null && !this.closed) {
        this.finish(new PubSubError("bad_frame", "The first poll did not start with 'connected'."));
      }
    }
    delay(ms) {
      return new Promise((resolve) => {
        this.retryTimer = setTimeout(resolve, ms);
      });
    }
  };
  /** Retries of a poll that failed on the network, before the connection is given up. */
  _LongPollingTransport.MaxPollRetries = 3;
  /** The first retry's delay (ms), doubling per retry: 0.5 s, 1 s, 2 s, well inside the server's 20 s grace period. */
  _LongPollingTransport.PollRetryDelay = 500;
  /** How much longer than the server's poll timeout a poll may take before it counts as lost (ms). */
  _LongPollingTransport.PollTimeoutMargin = 1e4;
  var LongPollingTransport = _LongPollingTransport;

  // src/FrameDeque.ts
  var FrameDeque = class {
    constructor() {
      this.items = [];
      this.head = 0;
      this.bytes = 0;
    }
    get length() {
      return this.items.length - this.head;
    }
    peek() {
      return this.items[this.head];
    }
    push(frame) {
      this.items.push(frame);
      this.bytes += frame.bytes;
    }
    shift() {
      const frame = this.items[this.head];
      if (frame === void 0) {
        return void 0;
      }
      this.head++;
      this.bytes -= frame.bytes;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return frame;
    }
    remove(frame) {
      const index = this.items.indexOf(frame, this.head);
      if (index < 0) {
        return false;
      }
      this.items.splice(index, 1);
      this.bytes -= frame.bytes;
      return true;
    }
    includes(text) {
      for (let i = this.head; i < this.items.length; i++) {
        if (this.items[i].text === text) {
          return true;
        }
      }
      return false;
    }
    takeAll() {
      const all = this.items.slice(this.head);
      this.items = [];
      this.head = 0;
      this.bytes = 0;
      return all;
    }
  };

  // src/OutboundQueue.ts
  var OutboundQueue = class {
    /** @param maxBulkBytes the most bytes the bulk lane holds; the control lane is not bounded (its frames are few and small). */
    constructor(maxBulkBytes) {
      this.maxBulkBytes = maxBulkBytes;
      this.control = new FrameDeque();
      this.bulk = new FrameDeque();
    }
    get isEmpty() {
      return this.control.length === 0 && this.bulk.length === 0;
    }
    get bulkBytes() {
      return this.bulk.bytes;
    }
    get length() {
      return this.control.length + this.bulk.length;
    }
    /** Queues a frame; false (and nothing queued) when it is bulk and the bulk lane has no room for it. */
    enqueue(frame) {
      if (frame.lane === "control") {
        this.control.push(frame);
        return true;
      }
      if (this.bulk.bytes + frame.bytes > this.maxBulkBytes) {
        return false;
      }
      this.bulk.push(frame);
      return true;
    }
    hasControl(text) {
      return this.control.includes(text);
    }
    /**
     * Takes the frames of the next batch: control frames first, then bulk, in order within each
     * lane, as many as fit in `maxBytes` with their `\n` separators. A first frame larger than
     * `maxBytes` is taken alone (the caller checked sizes at enqueue time; this only avoids a stall).
     */
    take(maxBytes) {
      const batch = [];
      let size = 0;
      for (const lane of [this.control, this.bulk]) {
        for (let next = lane.peek(); next !== void 0; next = lane.peek()) {
          const added = batch.length === 0 ? next.bytes : next.bytes + 1;
          if (batch.length > 0 && size + added > maxBytes) {
            return batch;
          }
          batch.push(lane.shift());
          size += added;
        }
      }
      return batch;
    }
    remove(frame) {
      return (frame.lane === "control" ? this.control : this.bulk).remove(frame);
    }
    /** Removes and returns every bulk frame, in order (to move them to another connection). */
    takeBulk() {
      return this.bulk.takeAll();
    }
    /** Appends bulk frames moved from another queue, past the bound: they were admitted once already. */
    appendBulk(frames) {
      for (const frame of frames) {
        this.bulk.push(frame);
      }
    }
    clearControl() {
      this.control.takeAll();
    }
    clear() {
      this.control.takeAll();
      return this.bulk.takeAll();
    }
  };

  // src/SseTransport.ts
  var SseTransport = class extends HttpTransport {
    constructor() {
      super(...arguments);
      this.name = "sse";
      this.source = null;
    }
    open() {
      var _a;
      const EventSourceImpl = (_a = this.context.EventSource) != null ? _a : globalThis.EventSource;
      if (EventSourceImpl === void 0) {
        this.finish(new PubSubError("transport_failed", "There is no EventSource implementation; pass one as the `EventSource` option."));
        return;
      }
      const url = endpoint(this.context.base, "sse", this.context.token === null ? {} : { access_token: this.context.token });
      let source;
      try {
        source = new EventSourceImpl(url.href, { withCredentials: this.context.withCredentials });
      } catch (error) {
        this.finish(new PubSubError("transport_failed", `Opening an EventSource to ${url.href} failed: ${String(error)}`, { cause: error }));
        return;
      }
      this.source = source;
      const sink = sessionCapturingSink(this.handler, (session) => this.session = session);
      source.onmessage = (event) => deliverLines(splitBatch(event.data), sink, () => !this.closed);
      source.onerror = () => {
        this.finish(new PubSubError("transport_failed", this.session === null ? "The event stream could not be opened (refused, not offered, or unreachable)." : "The event stream ended or failed."));
      };
    }
    stop() {
      const source = this.source;
      if (source !== null) {
        source.onmessage = null;
        source.onerror = null;
        source.close();
      }
    }
  };

  // src/WebSocketTransport.ts
  var OPEN = 1;
  var _WebSocketTransport = class _WebSocketTransport {
    constructor(context, handler) {
      this.context = context;
      this.handler = handler;
      this.name = "websocket";
      this.socket = null;
      this.closed = false;
    }
    open() {
      var _a;
      const WebSocketImpl = (_a = this.context.WebSocket) != null ? _a : globalThis.WebSocket;
      if (WebSocketImpl === void 0) {
        this.finish(new PubSubError("transport_failed", "There is no WebSocket implementation; pass one as the `WebSocket` option."));
        return;
      }
      const url = endpoint(this.context.base, "ws", this.context.token === null ? {} : { access_token: this.context.token });
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      let socket;
      try {
        socket = new WebSocketImpl(url.href, _WebSocketTransport.Subprotocol);
      } catch (error) {
        this.finish(new PubSubError("transport_failed", `Opening a WebSocket to ${url.href} failed: ${String(error)}`, { cause: error }));
        return;
      }
      this.socket = socket;
      socket.binaryType = "arraybuffer";
      socket.onmessage = (event) => {
        if (typeof event.data !== "string") {
          this.handler.onBadFrame(new PubSubError("bad_frame", "The server sent a binary WebSocket message on 'pubsub.json'; it was ignored."));
          return;
        }
        deliverLines(splitBatch(event.data), this.handler, () => !this.closed);
      };
      socket.onclose = (event) => {
        const reason = event.reason ? `: ${event.reason}` : "";
        this.finish(new PubSubError("transport_failed", `The WebSocket closed with code ${event.code}${reason}`, { disconnectCode: event.code }), event.code);
      };
      socket.onerror = () => void 0;
    }
    /** False while the socket's buffer is full; the handler then hears `onWritable` once it drained. */
    canSend() {
      const socket = this.socket;
      if (socket === null || this.closed || socket.readyState !== OPEN) {
        return false;
      }
      if (socket.bufferedAmount >= this.context.sendBufferLimit) {
        this.watchDrain();
        return false;
      }
      return true;
    }
    send(batch) {
      const socket = this.socket;
      socket.send(batch);
      if (socket.bufferedAmount >= this.context.sendBufferLimit) {
        this.watchDrain();
      }
    }
    close() {
      if (this.closed) {
        return;
      }
      this.closed = true;
      clearTimeout(this.drainTimer);
      const socket = this.socket;
      if (socket !== null) {
        socket.onmessage = null;
        socket.onclose = null;
        try {
          socket.close(1e3);
        } catch (e) {
        }
      }
    }
    watchDrain() {
      if (this.drainTimer !== void 0) {
        return;
      }
      const check = () => {
        var _a;
        this.drainTimer = void 0;
        if (this.closed) {
          return;
        }
        if (this.canSend()) {
          this.handler.onWritable();
        } else if (((_a = this.socket) == null ? void 0 : _a.readyState) === OPEN) {
          this.drainTimer = setTimeout(check, _WebSocketTransport.DrainCheckInterval);
        }
      };
      this.drainTimer = setTimeout(check, _WebSocketTransport.DrainCheckInterval);
    }
    finish(error, closeCode) {
      if (this.closed) {
        return;
      }
      this.closed = true;
      clearTimeout(this.drainTimer);
      this.handler.onClose(closeCode === void 0 ? { error } : { error, closeCode });
    }
  };
  _WebSocketTransport.Subprotocol = "pubsub.json";
  /**
   * Browsers have no "drained" event for a WebSocket, so a paused sender checks `bufferedAmount`
   * this often (ms). Short enough to keep a fast link busy, long enough to cost nothing.
   */
  _WebSocketTransport.DrainCheckInterval = 10;
  var WebSocketTransport = _WebSocketTransport;

  // src/Connection.ts
  function createTransport(name, context, handler) {
    switch (name) {
      case "websocket":
        return new WebSocketTransport(context, handler);
      case "sse":
        return new SseTransport(context, handler);
      case "long-polling":
        return new LongPollingTransport(context, handler);
    }
  }
  var PING = JSON.stringify({ type: "ping" });
  var Connection = class {
    constructor(name, context, settings, listener) {
      this.name = name;
      this.settings = settings;
      this.listener = listener;
      /** Channels whose subscribe succeeded on this session; messages for other channels are not for this client. */
      this.activeChannels = /* @__PURE__ */ new Set();
      /** Ids of the requests sent on this session whose replies have not come. */
      this.inflight = /* @__PURE__ */ new Set();
      this.state = "opening";
      this.connected = null;
      this.flushScheduled = false;
      this.lastInbound = Date.now();
      /** On SSE: a ping went out and nothing has come back since. */
      this.awaitingPong = false;
      this.queue = new OutboundQueue(settings.maxQueueBytes);
      this.opened = new Promise((resolve, reject) => {
        this.resolveOpened = resolve;
        this.rejectOpened = reject;
      });
      this.opened.catch(() => void 0);
      const handler = {
        onFrame: (frame) => this.onFrame(frame),
        onBadFrame: (error) => this.onBadFrame(error),
        onWritable: () => this.flush(),
        onClose: (closed) => this.onTransportClosed(closed)
      };
      this.transport = createTransport(name, context, handler);
      this.openTimer = setTimeout(() => {
        this.fail(new PubSubError("timeout", `The ${name} transport did not deliver 'connected' within ${settings.connectTimeout} ms.`), true);
      }, settings.connectTimeout);
      this.transport.open();
    }
    /** The session's `connected` frame; null until it came. */
    get info() {
      return this.connected;
    }
    get isOpen() {
      return this.state === "open";
    }
    /** Queues a frame and schedules a send; false when the bulk lane is full. */
    enqueue(frame) {
      if (!this.queue.enqueue(frame)) {
        return false;
      }
      this.scheduleFlush();
      return true;
    }
    /** Sends whatever waits, in the next microtask: the frames queued in one tick travel in one batch. */
    scheduleFlush() {
      if (this.flushScheduled || this.state !== "open") {
        return;
      }
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    flush() {
      while (this.state === "open" && !this.queue.isEmpty && this.transport.canSend()) {
        const batch = this.queue.take(this.settings.maxMessageSize);
        for (const frame of batch) {
          if (frame.id !== void 0) {
            this.inflight.add(frame.id);
          }
        }
        this.transport.send(batch.map((frame) => frame.text).join("\n"));
      }
    }
    /** Ends the connection quietly: the listener hears nothing more. */
    close() {
      this.end(new PubSubError("closed", "The connection was closed while it was opening."), null);
    }
    /** Ends the connection because it failed: an opening one rejects `opened`, an open one tells the listener. */
    fail(error, reconnect) {
      this.end(error, reconnect);
    }
    /** `reconnect` null: a quiet close. */
    end(error, reconnect) {
      if (this.state === "closed") {
        return;
      }
      const wasOpening = this.state === "opening";
      this.state = "closed";
      this.stopTimers();
      this.transport.close();
      if (wasOpening) {
        this.rejectOpened(error);
      } else if (reconnect !== null) {
        this.listener.onClosed(this, { error, reconnect });
      }
    }
    onFrame(frame) {
      this.markInbound();
      if (this.state === "opening") {
        this.onFirstFrame(frame);
        return;
      }
      if (this.state !== "open") {
        return;
      }
      if (frame.type === "disconnect") {
        const disconnect = frame;
        this.fail(disconnectError(disconnect.code, disconnect.reason), disconnect.reconnect);
        return;
      }
      this.listener.onFrame(this, frame);
    }
    onFirstFrame(frame) {
      if (frame.type === "connected") {
        this.connected = frame;
        this.state = "open";
        clearTimeout(this.openTimer);
        this.scheduleHeartbeat();
        this.resolveOpened();
        return;
      }
      if (frame.type === "disconnect") {
        const disconnect = frame;
        this.fail(disconnectError(disconnect.code, disconnect.reason), disconnect.reconnect);
        return;
      }
      this.fail(new PubSubError("bad_frame", `The first frame was '${frame.type}', not 'connected'.`), true);
    }
    onBadFrame(error) {
      this.markInbound();
      if (this.state === "opening") {
        this.fail(error, true);
      } else if (this.state === "open") {
        this.listener.onBadFrame(this, error);
      }
    }
    onTransportClosed(closed) {
      const code = closed.closeCode;
      const permanent = code !== void 0 && code >= 4500 && code <= 4999;
      const error = code !== void 0 && code >= 4e3 && code <= 4999 ? disconnectError(code, closed.error.message) : closed.error;
      this.fail(error, !permanent);
    }
    /**
     * The server pings a WebSocket every `ping` seconds; silence past `ping` + margin means a dead
     * connection that TCP has not noticed (section 2.6). An SSE stream's heartbeat is a comment,
     * which an EventSource does not surface, so on SSE the client asks for a `pong` itself (over
     * /send) after `ping` seconds of silence. Long-polling needs no watch: each poll is bounded.
     */
    scheduleHeartbeat() {
      var _a, _b;
      const interval = ((_b = (_a = this.connected) == null ? void 0 : _a.ping) != null ? _b : 0) * 1e3;
      if (interval <= 0 || this.name === "long-polling") {
        return;
      }
      const deadline = interval + this.settings.heartbeatMargin;
      const clientPings = this.name === "sse";
      const check = () => {
        if (this.state !== "open") {
          return;
        }
        const now = Date.now();
        const silence = now - this.lastInbound;
        if (silence >= deadline) {
          this.fail(new PubSubError("timeout", `No frame from the server for ${Math.round(silence / 1e3)} s (heartbeat every ${interval / 1e3} s).`), true);
          return;
        }
        if (clientPings && !this.awaitingPong && silence >= interval) {
          this.awaitingPong = true;
          if (!this.queue.hasControl(PING)) {
            this.enqueue({ text: PING, bytes: PING.length, lane: "control" });
          }
        }
        const wake = clientPings && !this.awaitingPong ? this.lastInbound + interval : this.lastInbound + deadline;
        this.heartbeatTimer = setTimeout(check, Math.max(1, wake - now));
      };
      this.heartbeatTimer = setTimeout(check, clientPings ? interval : deadline);
    }
    markInbound() {
      this.lastInbound = Date.now();
      this.awaitingPong = false;
    }
    stopTimers() {
      clearTimeout(this.openTimer);
      clearTimeout(this.heartbeatTimer);
    }
  };
  function disconnectError(code, reason) {
    const permanent = code >= 4500 && code <= 4999;
    return new PubSubError(
      permanent ? "disconnected" : "transport_failed",
      `The server ended the session (${code}${reason ? `: ${reason}` : ""}).`,
      { disconnectCode: code }
    );
  }

  // src/Emitter.ts
  var Emitter = class {
    constructor() {
      this.listeners = /* @__PURE__ */ new Map();
    }
    /** Adds a listener; returns a function that removes it. */
    on(event, listener) {
      let set = this.listeners.get(event);
      if (!set) {
        set = /* @__PURE__ */ new Set();
        this.listeners.set(event, set);
      }
      set.add(listener);
      return () => this.off(event, listener);
    }
    /** Adds a listener that is removed after its first call. */
    once(event, listener) {
      const off = this.on(event, (value) => {
        off();
        listener(value);
      });
      return off;
    }
    off(event, listener) {
      var _a;
      (_a = this.listeners.get(event)) == null ? void 0 : _a.delete(listener);
    }
    emit(event, value) {
      const set = this.listeners.get(event);
      if (!set) {
        return;
      }
      for (const listener of [...set]) {
        try {
          listener(value);
        } catch (error) {
          setTimeout(() => {
            throw error;
          }, 0);
        }
      }
    }
  };

  // src/encoding.ts
  function utf8Length(text) {
    let bytes = text.length;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        continue;
      }
      if (c < 2048) {
        bytes += 1;
      } else if (c >= 55296 && c <= 56319 && i + 1 < text.length && (text.charCodeAt(i + 1) & 64512) === 56320) {
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    }
    return bytes;
  }
  function toBase64(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 32768) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 32768));
    }
    return btoa(binary);
  }
  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  // src/negotiate.ts
  var PROTOCOL_VERSION = 1;
  var terminalErrors = /* @__PURE__ */ new WeakSet();
  function isTerminal(error) {
    return terminalErrors.has(error);
  }
  function markTerminal(error) {
    terminalErrors.add(error);
    return error;
  }
  async function negotiate(http, timeoutMs, cancel) {
    var _a;
    const url = endpoint(http.base, "negotiate");
    const started = Date.now();
    const response = await fetchWithin(http, url, { method: "GET" }, timeoutMs, cancel);
    const rtt = Date.now() - started;
    if (!response.ok) {
      const error = await httpError(response, url);
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      throw retryable ? error : markTerminal(error);
    }
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new PubSubError("bad_frame", `${url.pathname} did not return JSON.`, { cause: error });
    }
    if (body.version !== PROTOCOL_VERSION) {
      throw markTerminal(new PubSubError(
        "bad_request",
        `The server speaks protocol version ${String(body.version)}; this client speaks version ${PROTOCOL_VERSION}.`
      ));
    }
    if (!Array.isArray(body.transports)) {
      throw new PubSubError("bad_frame", `${url.pathname} returned no 'transports' list.`);
    }
    return {
      info: {
        version: body.version,
        node: String((_a = body.node) != null ? _a : ""),
        transports: body.transports.map(String),
        encodings: Array.isArray(body.encodings) ? body.encodings.map(String) : ["json"],
        ping: typeof body.ping === "number" ? body.ping : 0,
        pollTimeout: typeof body.pollTimeout === "number" ? body.pollTimeout : 25,
        maxMessageSize: typeof body.maxMessageSize === "number" ? body.maxMessageSize : 65536
      },
      rtt
    };
  }

  // src/Subscription.ts
  var _Subscription = class _Subscription extends Emitter {
    /** @internal Created by `PubSubClient.subscribe`. */
    constructor(channel, owner, since) {
      super();
      this.channel = channel;
      this.owner = owner;
      this._state = "subscribing";
      this.everSubscribed = false;
      /** Paces re-subscribes after transient refusals; reset by a success. */
      this.retries = new Backoff(_Subscription.RetryInitialDelay, _Subscription.RetryMaxDelay);
      this.waiters = [];
      this._position = since === null ? null : { epoch: since.epoch, offset: since.offset };
    }
    get state() {
      return this._state;
    }
    /** The position of the last publication delivered (or where the subscription started); save it to resume later with `since`. */
    get position() {
      return this._position === null ? null : { ...this._position };
    }
    /** Resolves once the subscription is established; rejects if the server refuses it or it is unsubscribed first. */
    ready() {
      if (this._state === "subscribed") {
        return Promise.resolve();
      }
      if (this._state === "unsubscribed") {
        return Promise.reject(new PubSubError("not_subscribed", `The subscription to '${this.channel}' has ended.`));
      }
      return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    /** Ends the subscription. Resolves when the server confirmed it (at once when not connected). */
    unsubscribe() {
      return this.owner.unsubscribe(this);
    }
    /** Publishes to this subscription's channel. */
    publish(data) {
      return this.owner.publish(this.channel, data);
    }
    /** Reads this channel's history. */
    history(options) {
      return this.owner.history(this.channel, options);
    }
    /** @internal The position a subscribe should recover from, if any. */
    recoveryPosition() {
      return this._position;
    }
    /** @internal The server could not take the subscribe now; returns how long to wait before asking again. */
    handleTransientFailure(error) {
      this.emit("error", error);
      return this.retries.next();
    }
    /** @internal The subscribe (sent with `since`, or not) succeeded. */
    handleSubscribed(result, since) {
      this.retries.reset();
      const resubscribed = this.everSubscribed;
      this.everSubscribed = true;
      const latest = { epoch: result.epoch, offset: result.offset };
      if (since === null) {
        this._position = latest;
      } else if (result.recovered !== true) {
        this._position = latest;
        this.setState("subscribed");
        this.emit("subscribed", { channel: this.channel, position: { ...latest }, resubscribed, recovered: false });
        this.emit("missed", { channel: this.channel, from: { ...since }, position: { ...latest } });
        this.settleWaiters(null);
        return;
      }
      this.setState("subscribed");
      const event = { channel: this.channel, position: this.position, resubscribed };
      this.emit("subscribed", since === null ? event : { ...event, recovered: true });
      this.settleWaiters(null);
    }
    /**
     * @internal The server lost publications of this live subscription; the next message follows
     * `position`. Nothing happens when this client is past it already (another connection, during
     * a transport upgrade, delivered them).
     */
    handleLiveGap(position2) {
      const from = this._position;
      if (from !== null && from.epoch === position2.epoch && position2.offset <= from.offset) {
        return;
      }
      this._position = { ...position2 };
      this.emit("missed", { channel: this.channel, from: from === null ? { ...position2 } : { ...from }, position: { ...position2 } });
    }
    /**
     * @internal Delivers a publication unless it was delivered already. Each connection delivers a
     * channel's publications in offset order without gaps from where its subscribe started, so
     * "newer than the position" is exactly "not seen yet", even with two connections overlapping.
     * Returns whether it was delivered.
     */
    handleMessage(frame) {
      const position2 = this._position;
      if (position2 !== null && frame.epoch === position2.epoch && frame.offset <= position2.offset) {
        return false;
      }
      let data;
      if (typeof frame.binary === "string") {
        try {
          data = fromBase64(frame.binary);
        } catch (e) {
          this._position = { epoch: frame.epoch, offset: frame.offset };
          this.owner.reportError(new PubSubError(
            "bad_frame",
            `Publication ${frame.offset} of '${this.channel}' has a 'binary' field that is not base64; it was skipped.`
          ));
          return false;
        }
      } else {
        data = frame.data;
      }
      this._position = { epoch: frame.epoch, offset: frame.offset };
      this.emit("message", { channel: this.channel, epoch: frame.epoch, offset: frame.offset, data });
      return true;
    }
    /** @internal The connection was lost; the subscription waits to be re-subscribed. */
    handleDisconnected() {
      if (this._state === "subscribed") {
        this.setState("subscribing");
      }
    }
    /** @internal The subscription ended: by `unsubscribe()` (no error) or by the server (with its error). */
    handleEnded(error) {
      if (this._state === "unsubscribed") {
        return;
      }
      this.setState("unsubscribed");
      if (error !== null) {
        this.emit("error", error);
        this.emit("unsubscribed", { channel: this.channel, by: "server", error });
      } else {
        this.emit("unsubscribed", { channel: this.channel, by: "client" });
      }
      this.settleWaiters(error != null ? error : new PubSubError("not_subscribed", `The subscription to '${this.channel}' was ended by unsubscribe().`));
    }
    setState(state) {
      this._state = state;
    }
    settleWaiters(error) {
      for (const waiter of this.waiters.splice(0)) {
        if (error === null) {
          waiter.resolve();
        } else {
          waiter.reject(error);
        }
      }
    }
  };
  /** After a transient refusal (`unavailable`, `timeout`, `internal`), the first re-subscribe waits up to this long (ms), doubling to RetryMaxDelay. */
  _Subscription.RetryInitialDelay = 1e3;
  _Subscription.RetryMaxDelay = 3e4;
  var Subscription = _Subscription;

  // src/TransportSelector.ts
  var _TransportSelector = class _TransportSelector {
    constructor(transports, storage, key) {
      this.transports = transports;
      this.storage = storage;
      this.key = key;
    }
    /** The transports to try, in order; `offered` is negotiate's list (null when negotiation is off). */
    order(offered) {
      const usable = this.transports.filter((name) => offered === null || offered.includes(name));
      const remembered = this.remembered();
      if (remembered !== null && usable.includes(remembered)) {
        return [remembered, ...usable.filter((name) => name !== remembered)];
      }
      return usable;
    }
    /**
     * How long a transport gets to deliver `connected` (ms). SockJS's retransmission timeout (rto)
     * is 4 x rtt over 100 ms and 300 ms + rtt below, times the round trips the transport needs,
     * here clamped to [MinTimeout, MaxTimeout].
     */
    timeout(name, rtt, fixed) {
      if (fixed !== void 0) {
        return fixed;
      }
      if (rtt === null) {
        return _TransportSelector.DefaultTimeout;
      }
      const rto = rtt > 100 ? 4 * rtt : 300 + rtt;
      const derived = rto * _TransportSelector.RoundTrips[name];
      return Math.min(_TransportSelector.MaxTimeout, Math.max(_TransportSelector.MinTimeout, derived));
    }
    remembered() {
      var _a, _b;
      try {
        const value = (_b = (_a = this.storage) == null ? void 0 : _a.getItem(this.key)) != null ? _b : null;
        return this.transports.includes(value) ? value : null;
      } catch (e) {
        return null;
      }
    }
    succeeded(name) {
      var _a;
      try {
        (_a = this.storage) == null ? void 0 : _a.setItem(this.key, name);
      } catch (e) {
      }
    }
    failed(name) {
      var _a;
      try {
        if (((_a = this.storage) == null ? void 0 : _a.getItem(this.key)) === name) {
          this.storage.removeItem(this.key);
        }
      } catch (e) {
      }
    }
    /** sessionStorage when the environment has one and allows it (browsers); null otherwise (Node, some sandboxes). */
    static defaultStorage() {
      var _a;
      try {
        return (_a = globalThis.sessionStorage) != null ? _a : null;
      } catch (e) {
        return null;
      }
    }
  };
  /** Without a measured round trip (negotiate off), each attempt gets this long (ms). */
  _TransportSelector.DefaultTimeout = 5e3;
  /**
   * Floor of a derived timeout (ms). The SockJS formula gives ~0.6 s on a LAN, but a loaded server
   * (a JIT-cold node, a busy machine) can take longer than that to answer its first WebSocket or
   * stream, and a false fallback costs a session on a worse transport until the next upgrade
   * probe. A blackholed WebSocket costs this wait once per browser session (the fallback is
   * remembered), so the floor errs long.
   */
  _TransportSelector.MinTimeout = 2e3;
  _TransportSelector.MaxTimeout = 1e4;
  /** Round trips each transport needs to deliver `connected`: the upgrade and the first message; the stream's headers and first event; one poll. */
  _TransportSelector.RoundTrips = { websocket: 2, sse: 2, "long-polling": 1 };
  var TransportSelector = _TransportSelector;

  // src/types.ts
  var ALL_TRANSPORTS = ["websocket", "sse", "long-polling"];

  // src/PubSubClient.ts
  var DEFAULT_MAX_MESSAGE_SIZE = 65536;
  var DEFAULT_POLL_TIMEOUT_SECONDS = 25;
  var PONG = JSON.stringify({ type: "pong" });
  var TRANSIENT_CODES = /* @__PURE__ */ new Set(["unavailable", "timeout", "internal"]);
  var _PubSubClient = class _PubSubClient extends Emitter {
    /**
     * @param url the endpoints' prefix, such as `https://example.com/pubsub` or, in a page, `/pubsub`.
     */
    constructor(url, options = {}) {
      var _a, _b, _c, _d, _e, _f, _g, _h, _i, _j, _k, _l, _m;
      super();
      this.subscriptions = /* @__PURE__ */ new Map();
      this.requests = /* @__PURE__ */ new Map();
      this.retiring = /* @__PURE__ */ new Set();
      this.resubscribeTimers = /* @__PURE__ */ new Map();
      this.connectWaiters = [];
      this._state = "closed";
      this.lastTransport = null;
      this.primary = null;
      this.opening = null;
      this.probe = null;
      this.nextId = 1;
      /** Bumped by close(): asynchronous work of an older generation stops where it is. */
      this.generation = 0;
      this.cancel = new AbortController();
      this.stopOnlineListener = null;
      this.offered = null;
      this.rtt = null;
      this.maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
      this.context = null;
      /** Bumped whenever the set of subscriptions changes, so a transport upgrade can tell it raced one. */
      this.subscriptionVersion = 0;
      this.probeVersion = 0;
      this.probeSubscribesLeft = 0;
      this.connectionListener = {
        onFrame: (connection, frame) => this.onFrame(connection, frame),
        onBadFrame: (_connection, error) => this.emit("error", error),
        onClosed: (connection, closed) => this.onConnectionClosed(connection, closed)
      };
      const location = (_a = globalThis.location) == null ? void 0 : _a.href;
      try {
        this.base = new URL(url, location);
      } catch (e) {
        throw new TypeError(`'${url}' is not a URL${location === void 0 ? " (outside a browser it must be absolute)" : ""}.`);
      }
      if (this.base.protocol === "ws:" || this.base.protocol === "wss:") {
        this.base.protocol = this.base.protocol === "wss:" ? "https:" : "http:";
      }
      this.url = this.base.href;
      const reconnect = (_b = options.reconnect) != null ? _b : true;
      const reconnectOptions = typeof reconnect === "object" ? reconnect : {};
      const transports = (_c = options.transports) != null ? _c : [...ALL_TRANSPORTS];
      for (const name of transports) {
        if (!ALL_TRANSPORTS.includes(name)) {
          throw new TypeError(`Unknown transport '${String(name)}'; use ${ALL_TRANSPORTS.map((t) => `'${t}'`).join(", ")}.`);
        }
      }
      if (transports.length === 0) {
        throw new TypeError("`transports` must name at least one transport.");
      }
      this.settings = {
        transports: [...transports],
        reconnect: reconnect !== false,
        maxAttempts: (_d = reconnectOptions.maxAttempts) != null ? _d : Infinity,
        negotiate: (_e = options.negotiate) != null ? _e : true,
        transportTimeout: options.transportTimeout,
        negotiateTimeout: (_f = options.negotiateTimeout) != null ? _f : _PubSubClient.DefaultNegotiateTimeout,
        requestTimeout: (_g = options.requestTimeout) != null ? _g : _PubSubClient.DefaultRequestTimeout,
        heartbeatMargin: (_h = options.heartbeatMargin) != null ? _h : _PubSubClient.DefaultHeartbeatMargin,
        probeInterval: (_i = options.probeInterval) != null ? _i : _PubSubClient.DefaultProbeInterval,
        maxQueueBytes: (_j = options.maxQueueBytes) != null ? _j : _PubSubClient.DefaultMaxQueueBytes,
        sendBufferLimit: (_k = options.sendBufferLimit) != null ? _k : _PubSubClient.DefaultSendBufferLimit
      };
      this.backoff = new Backoff(reconnectOptions.initialDelay, reconnectOptions.maxDelay);
      const storage = options.rememberTransport === false ? null : options.storage === void 0 ? TransportSelector.defaultStorage() : options.storage;
      this.selector = new TransportSelector(this.settings.transports, storage, `pubsub.transport ${this.url}`);
      const fetchImpl = (_l = options.fetch) != null ? _l : globalThis.fetch;
      this.fetchImpl = fetchImpl === void 0 ? missingFetch : fetchImpl.bind(globalThis);
      this.tokenSource = options.token;
      this.webSocket = options.WebSocket;
      this.eventSource = options.EventSource;
      this.withCredentials = (_m = options.withCredentials) != null ? _m : false;
      this.backlog = new OutboundQueue(this.settings.maxQueueBytes);
      this.subscriptionOwner = {
        unsubscribe: (subscription) => this.unsubscribe(subscription),
        publish: (channel, data) => this.publish(channel, data),
        history: (channel, historyOptions) => this.history(channel, historyOptions),
        reportError: (error) => this.emit("error", error)
      };
    }
    /** The connection state. */
    get state() {
      return this._state;
    }
    /** The transport in use; null unless connected. */
    get transport() {
      var _a, _b;
      return this._state === "connected" ? (_b = (_a = this.primary) == null ? void 0 : _a.name) != null ? _b : null : null;
    }
    /** The server session's id; null unless connected. */
    get session() {
      var _a, _b, _c;
      return this._state === "connected" ? (_c = (_b = (_a = this.primary) == null ? void 0 : _a.info) == null ? void 0 : _b.session) != null ? _c : null : null;
    }
    /**
     * Connects, and resolves once connected. Transient failures are retried with backoff (the state
     * stays `connecting`); the promise rejects when the client is closed first, when the server
     * refuses the client for good (such as a 403 from negotiate, or no common transport), or when
     * `reconnect.maxAttempts` attempts failed.
     */
    connect() {
      if (this._state === "connected") {
        return Promise.resolve();
      }
      const connected = new Promise((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
      if (this._state === "closed") {
        this.backoff.reset();
        this.setState("connecting");
        void this.attempt(this.generation);
      }
      return connected;
    }
    /**
     * Closes the connection, stops reconnecting, and fails pending requests with `closed`.
     * Subscriptions stay, with their positions: a later `connect()` re-subscribes and recovers.
     */
    close() {
      this.shutdown(null);
    }
    /**
     * Subscribes to a channel. The subscription is sent when connected (at once if connected now)
     * and renewed after every reconnect. Listen for `message` before the first `await`.
     */
    subscribe(channel, options = {}) {
      var _a;
      if (typeof channel !== "string" || channel === "") {
        throw new PubSubError("invalid_channel", "A channel name must be a non-empty string.");
      }
      if (this.subscriptions.has(channel)) {
        throw new PubSubError(
          "already_subscribed",
          `Already subscribed to '${channel}'; use getSubscription() to reach it, or unsubscribe() it first.`
        );
      }
      const subscription = new Subscription(channel, this.subscriptionOwner, (_a = options.since) != null ? _a : null);
      this.subscriptions.set(channel, subscription);
      this.subscriptionVersion++;
      if (this.primary !== null && this._state === "connected") {
        this.sendSubscribe(this.primary, subscription, false);
      }
      return subscription;
    }
    /** The subscription to a channel, if there is one. */
    getSubscription(channel) {
      return this.subscriptions.get(channel);
    }
    /** All current subscriptions. */
    getSubscriptions() {
      return [...this.subscriptions.values()];
    }
    /**
     * Publishes `data` to a channel: any JSON value, or bytes (a `Uint8Array`, another typed array
     * or DataView, or an `ArrayBuffer`), sent as a binary publication. Resolves with the publication's position. Publishes made while the
     * client reconnects wait in a bounded queue; one whose connection drops after it was sent
     * rejects with `connection_lost`, since it may or may not have been published.
     */
    publish(channel, data) {
      let payload;
      if (ArrayBuffer.isView(data)) {
        payload = { binary: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
      } else if (data instanceof ArrayBuffer) {
        payload = { binary: toBase64(new Uint8Array(data)) };
      } else if (data === void 0 || typeof data === "function" || typeof data === "symbol") {
        return Promise.reject(new PubSubError("bad_request", `Publication data must be a JSON value or bytes, not ${typeof data}.`));
      } else {
        payload = { data };
      }
      return this.request({ type: "publish", channel, ...payload }, "bulk", (result) => position(result));
    }
    /** Reads a channel's history: the publications after `since` (or the latest ones), oldest first. */
    history(channel, options = {}) {
      const frame = { type: "history", channel };
      if (options.since !== void 0) {
        frame.since = { epoch: options.since.epoch, offset: options.since.offset };
      }
      if (options.limit !== void 0) {
        frame.limit = options.limit;
      }
      return this.request(frame, "bulk", (result) => {
        const publications = Array.isArray(result.publications) ? result.publications : [];
        return {
          ...position(result),
          publications: publications.map((publication) => ({
            offset: Number(publication.offset),
            data: typeof publication.binary === "string" ? fromBase64(publication.binary) : publication.data
          }))
        };
      });
    }
    // ---- Connecting ------------------------------------------------------------------------------
    async attempt(generation) {
      let connection;
      try {
        connection = await this.establish(generation);
      } catch (error) {
        if (generation !== this.generation) {
          return;
        }
        const failure = asPubSubError(error);
        if (isTerminal(failure) || !this.settings.reconnect || this.backoff.attempts >= this.settings.maxAttempts) {
          this.shutdown(failure);
          return;
        }
        this.emit("error", failure);
        this.scheduleRetry(generation);
        return;
      }
      if (generation !== this.generation) {
        connection.close();
        return;
      }
      this.adopt(connection, false);
    }
    /**
     * Waits the next backoff delay, then tries again. A browser that reports it is back online
     * (the window's `online` event) cuts the wait short: the network that failed is likely back.
     */
    scheduleRetry(generation) {
      const retry = () => {
        this.stopRetry();
        if (generation === this.generation) {
          void this.attempt(generation);
        }
      };
      this.retryTimer = setTimeout(retry, this.backoff.next());
      const events = globalThis;
      if (typeof events.addEventListener === "function") {
        events.addEventListener("online", retry);
        this.stopOnlineListener = () => globalThis.removeEventListener("online", retry);
      }
    }
    stopRetry() {
      var _a;
      clearTimeout(this.retryTimer);
      (_a = this.stopOnlineListener) == null ? void 0 : _a.call(this);
      this.stopOnlineListener = null;
    }
    /** Negotiates, then tries each transport in order; resolves with the first connection that delivers `connected`. */
    async establish(generation) {
      var _a, _b, _c;
      const token = await this.resolveToken();
      const http = { base: this.base, token, withCredentials: this.withCredentials, fetch: this.fetchImpl };
      let info = null;
      if (this.settings.negotiate) {
        const negotiated = await negotiate(http, this.settings.negotiateTimeout, this.cancel.signal);
        info = negotiated.info;
        this.rtt = negotiated.rtt;
      }
      this.offered = (_a = info == null ? void 0 : info.transports) != null ? _a : null;
      this.maxMessageSize = (_b = info == null ? void 0 : info.maxMessageSize) != null ? _b : DEFAULT_MAX_MESSAGE_SIZE;
      this.context = {
        ...http,
        WebSocket: this.webSocket,
        EventSource: this.eventSource,
        pollTimeout: ((_c = info == null ? void 0 : info.pollTimeout) != null ? _c : DEFAULT_POLL_TIMEOUT_SECONDS) * 1e3,
        requestTimeout: this.settings.requestTimeout,
        sendBufferLimit: this.settings.sendBufferLimit
      };
      const order = this.selector.order(this.offered);
      if (order.length === 0) {
        const error = new PubSubError(
          "no_transport",
          `The server offers ${this.offered.join(", ") || "no transports"}; this client allows ${this.settings.transports.join(", ")}.`
        );
        throw markTerminal(error);
      }
      const failures = [];
      for (const name of order) {
        if (generation !== this.generation) {
          throw new PubSubError("closed", "The client was closed.");
        }
        const connection = this.open(name);
        this.opening = connection;
        try {
          await connection.opened;
          this.selector.succeeded(name);
          return connection;
        } catch (error) {
          if (generation !== this.generation) {
            throw new PubSubError("closed", "The client was closed.");
          }
          const failure = asPubSubError(error);
          failures.push(`${name}: ${failure.message}`);
          this.selector.failed(name);
          if (order.length > 1) {
            this.emit("error", failure);
          }
        } finally {
          if (this.opening === connection) {
            this.opening = null;
          }
        }
      }
      throw new PubSubError("transport_failed", `No transport connected. ${failures.join(" ")}`);
    }
    open(name) {
      return new Connection(
        name,
        this.context,
        {
          connectTimeout: this.selector.timeout(name, this.settings.negotiate ? this.rtt : null, this.settings.transportTimeout),
          maxMessageSize: this.maxMessageSize,
          maxQueueBytes: this.settings.maxQueueBytes,
          heartbeatMargin: this.settings.heartbeatMargin
        },
        this.connectionListener
      );
    }
    async resolveToken() {
      const source = this.tokenSource;
      if (source === void 0) {
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
    /** Makes a connected session the one in use: re-subscribes every channel, sends what waited. */
    adopt(connection, upgrade) {
      this.primary = connection;
      this.backoff.reset();
      if (!upgrade) {
        for (const subscription of this.subscriptions.values()) {
          this.sendSubscribe(connection, subscription, false);
        }
      }
      const waiting = this.backlog.takeBulk();
      connection.queue.appendBulk(waiting);
      connection.scheduleFlush();
      this.setState("connected");
      const info = connection.info;
      this.emit("connected", { transport: connection.name, session: info.session, node: info.node, upgrade });
      for (const waiter of this.connectWaiters.splice(0)) {
        waiter.resolve();
      }
      this.scheduleProbe();
    }
    onConnectionClosed(connection, closed) {
      this.failInflight(connection, closed.error);
      if (connection === this.probe) {
        this.probe = null;
        this.scheduleProbe();
        return;
      }
      if (this.retiring.delete(connection) || connection !== this.primary) {
        return;
      }
      this.primary = null;
      this.stopProbe();
      this.stopResubscribing();
      this.backlog.appendBulk(connection.queue.takeBulk());
      for (const subscription of this.subscriptions.values()) {
        subscription.handleDisconnected();
      }
      if (!closed.reconnect || !this.settings.reconnect) {
        this.shutdown(closed.error);
        return;
      }
      this.emit("error", closed.error);
      this.setState("reconnecting", closed.error);
      this.scheduleRetry(this.generation);
    }
    /** Fails the requests sent on a connection that ended: their outcome is unknown. */
    failInflight(connection, cause) {
      for (const id of connection.inflight) {
        const request = this.requests.get(id);
        if (request !== void 0) {
          this.settle(id, request);
          request.onFailed(new PubSubError(
            "connection_lost",
            `The connection was lost before the reply came; the request may or may not have taken effect (${cause.message})`,
            { cause }
          ));
        }
      }
      connection.inflight.clear();
    }
    shutdown(error) {
      if (this._state === "closed") {
        return;
      }
      this.generation++;
      this.cancel.abort();
      this.cancel = new AbortController();
      this.stopRetry();
      this.stopProbe();
      this.stopResubscribing();
      for (const connection of [this.primary, this.opening, ...this.retiring]) {
        connection == null ? void 0 : connection.close();
      }
      this.primary = null;
      this.opening = null;
      this.retiring.clear();
      this.backlog.clear();
      const failure = error != null ? error : new PubSubError("closed", "The client was closed.");
      for (const [id, request] of [...this.requests]) {
        this.settle(id, request);
        request.onFailed(failure);
      }
      for (const subscription of this.subscriptions.values()) {
        subscription.handleDisconnected();
      }
      this.setState("closed", error != null ? error : void 0);
      for (const waiter of this.connectWaiters.splice(0)) {
        waiter.reject(failure);
      }
    }
    setState(state, error) {
      var _a, _b;
      const previous = this._state;
      const transport = state === "connected" ? (_b = (_a = this.primary) == null ? void 0 : _a.name) != null ? _b : null : null;
      if (previous === state && transport === this.lastTransport && error === void 0) {
        return;
      }
      this._state = state;
      this.lastTransport = transport;
      this.emit("state", error === void 0 ? { state, previous, transport } : { state, previous, transport, error });
    }
    // ---- Frames ----------------------------------------------------------------------------------
    onFrame(connection, frame) {
      switch (frame.type) {
        case "message":
          this.onMessage(connection, frame);
          break;
        case "reply":
          this.onReply(connection, frame);
          break;
        case "ping":
          if (!connection.queue.hasControl(PONG)) {
            connection.enqueue({ text: PONG, bytes: PONG.length, lane: "control" });
          }
          break;
        case "error": {
          const error = frame;
          this.emit("error", new PubSubError(error.code, error.message));
          break;
        }
        case "unsubscribed":
          this.onUnsubscribed(connection, frame);
          break;
        case "subscribed":
          this.onSubscribed(connection, frame);
          break;
        default:
          break;
      }
    }
    onMessage(connection, frame) {
      const subscription = this.subscriptions.get(frame.channel);
      if (subscription !== void 0 && connection.activeChannels.has(frame.channel)) {
        subscription.handleMessage(frame);
      }
    }
    onReply(connection, frame) {
      connection.inflight.delete(frame.id);
      const request = this.requests.get(frame.id);
      if (request !== void 0) {
        this.settle(frame.id, request);
        request.onReply(frame, connection);
      }
      if (this.retiring.has(connection) && connection.inflight.size === 0) {
        this.retiring.delete(connection);
        connection.close();
      }
    }
    onUnsubscribed(connection, frame) {
      if (!connection.activeChannels.delete(frame.channel) || connection !== this.primary) {
        return;
      }
      const subscription = this.subscriptions.get(frame.channel);
      if (subscription !== void 0) {
        this.subscriptions.delete(frame.channel);
        this.subscriptionVersion++;
        subscription.handleEnded(new PubSubError(frame.code, frame.reason || `The server ended the subscription to '${frame.channel}'.`));
      }
    }
    /**
     * On a live subscription: the node lost publications it could not recover (section 2.4), and
     * the subscription continues from the frame's position. Otherwise: a subscription the server
     * made without a subscribe frame (not one this client asks for, but the protocol allows it).
     */
    onSubscribed(connection, frame) {
      const subscription = this.subscriptions.get(frame.channel);
      if (subscription === void 0) {
        return;
      }
      if (connection.activeChannels.has(frame.channel)) {
        if (frame.recovered === false) {
          subscription.handleLiveGap({ epoch: frame.epoch, offset: frame.offset });
        }
        return;
      }
      if (connection !== this.primary) {
        return;
      }
      connection.activeChannels.add(frame.channel);
      const since = frame.recovered === void 0 ? null : subscription.recoveryPosition();
      subscription.handleSubscribed(frame, since);
    }
    // ---- Requests --------------------------------------------------------------------------------
    request(frame, lane, parse) {
      return new Promise((resolve, reject) => {
        this.enqueueRequest(frame, lane, {
          onReply: (reply) => {
            if (reply.error !== void 0) {
              reject(new PubSubError(reply.error.code, reply.error.message));
              return;
            }
            try {
              resolve(parse(reply.result));
            } catch (error) {
              reject(new PubSubError("bad_frame", `The reply to a ${String(frame.type)} could not be read: ${describe(error)}`));
            }
          },
          onFailed: reject
        }, null);
      });
    }
    /**
     * Queues a request on `connection` (or, when null, on the connection in use, or in the backlog
     * while reconnecting). Failures (closed client, oversized frame, full queue) go to `onFailed`.
     */
    enqueueRequest(frame, lane, handlers, connection) {
      if (this._state === "closed") {
        handlers.onFailed(new PubSubError("closed", "The client is closed; call connect() first."));
        return;
      }
      const id = this.nextId++;
      let text;
      try {
        text = JSON.stringify({ ...frame, id });
      } catch (error) {
        handlers.onFailed(new PubSubError("bad_request", `The request could not be serialized as JSON: ${describe(error)}`, { cause: error }));
        return;
      }
      const bytes = utf8Length(text);
      if (bytes > this.maxMessageSize) {
        handlers.onFailed(new PubSubError(
          "message_too_large",
          `The ${String(frame.type)} frame is ${bytes} bytes; the server accepts at most ${this.maxMessageSize}.`
        ));
        return;
      }
      const outbound = { text, bytes, lane, id };
      const target = connection != null ? connection : this._state === "connected" ? this.primary : null;
      const queued = target !== null ? target.enqueue(outbound) : this.backlog.enqueue(outbound);
      if (!queued) {
        handlers.onFailed(new PubSubError(
          "queue_full",
          `${this.settings.maxQueueBytes} bytes are already waiting to be sent; the ${String(frame.type)} was not queued.`
        ));
        return;
      }
      const request = { frame: outbound, ...handlers, timer: void 0 };
      request.timer = setTimeout(() => this.timeOut(id, request), this.settings.requestTimeout);
      this.requests.set(id, request);
    }
    timeOut(id, request) {
      this.settle(id, request);
      const unsent = this.backlog.remove(request.frame) || [this.primary, this.probe].some((connection) => {
        var _a;
        return (_a = connection == null ? void 0 : connection.queue.remove(request.frame)) != null ? _a : false;
      });
      request.onFailed(new PubSubError("timeout", unsent ? `The ${frameType(request.frame)} could not be sent within ${this.settings.requestTimeout} ms; it was not sent.` : `No reply to the ${frameType(request.frame)} within ${this.settings.requestTimeout} ms; it may or may not have taken effect.`));
    }
    settle(id, request) {
      clearTimeout(request.timer);
      this.requests.delete(id);
    }
    // ---- Subscriptions ---------------------------------------------------------------------------
    /**
     * Sends a subscribe for `subscription` on `connection`, with `since` when the subscription has
     * a position. A probe's subscribe only checks that the new session can take over; the reply of
     * a real one moves the subscription on.
     */
    sendSubscribe(connection, subscription, probe) {
      const since = subscription.recoveryPosition();
      const frame = { type: "subscribe", channel: subscription.channel };
      if (since !== null) {
        frame.since = { epoch: since.epoch, offset: since.offset };
      }
      this.enqueueRequest(frame, "control", {
        onReply: (reply) => {
          if (probe) {
            this.onProbeSubscribed(connection, subscription, since, reply);
          } else {
            this.onSubscribeReply(connection, subscription, since, reply);
          }
        },
        onFailed: (error) => {
          if (probe) {
            this.abortProbe(connection);
          } else if (error.code === "timeout" && connection === this.primary) {
            connection.fail(error, true);
          }
        }
      }, connection);
    }
    onSubscribeReply(connection, subscription, since, reply) {
      if (this.subscriptions.get(subscription.channel) !== subscription || connection !== this.primary) {
        return;
      }
      if (reply.error !== void 0) {
        const error = new PubSubError(reply.error.code, reply.error.message);
        if (TRANSIENT_CODES.has(error.code)) {
          const delay = subscription.handleTransientFailure(error);
          const timer = setTimeout(() => {
            this.resubscribeTimers.delete(subscription);
            if (this.primary === connection && this.subscriptions.get(subscription.channel) === subscription) {
              this.sendSubscribe(connection, subscription, false);
            }
          }, delay);
          this.resubscribeTimers.set(subscription, timer);
          return;
        }
        this.subscriptions.delete(subscription.channel);
        this.subscriptionVersion++;
        subscription.handleEnded(error);
        return;
      }
      let result;
      try {
        result = position(reply.result);
      } catch (error) {
        this.emit("error", asPubSubError(error));
        return;
      }
      connection.activeChannels.add(subscription.channel);
      subscription.handleSubscribed({ ...result, ...typeof reply.result.recovered === "boolean" ? { recovered: reply.result.recovered } : {} }, since);
    }
    stopResubscribing() {
      for (const timer of this.resubscribeTimers.values()) {
        clearTimeout(timer);
      }
      this.resubscribeTimers.clear();
    }
    unsubscribe(subscription) {
      if (this.subscriptions.get(subscription.channel) !== subscription) {
        return Promise.resolve();
      }
      this.subscriptions.delete(subscription.channel);
      this.subscriptionVersion++;
      clearTimeout(this.resubscribeTimers.get(subscription));
      this.resubscribeTimers.delete(subscription);
      subscription.handleEnded(null);
      for (const connection2 of this.retiring) {
        connection2.activeChannels.delete(subscription.channel);
      }
      const connection = this.primary;
      if (connection === null || this._state !== "connected") {
        return Promise.resolve();
      }
      connection.activeChannels.delete(subscription.channel);
      return new Promise((resolve, reject) => {
        this.enqueueRequest({ type: "unsubscribe", channel: subscription.channel }, "control", {
          onReply: (reply) => {
            if (reply.error !== void 0 && reply.error.code !== "not_subscribed") {
              reject(new PubSubError(reply.error.code, reply.error.message));
            } else {
              resolve();
            }
          },
          // A session that is gone holds no subscriptions.
          onFailed: (error) => error.code === "timeout" ? reject(error) : resolve()
        }, connection);
      });
    }
    // ---- Moving up to WebSocket --------------------------------------------------------------------
    canProbe() {
      return this.settings.probeInterval > 0 && this._state === "connected" && this.primary !== null && this.primary.name !== "websocket" && this.settings.transports.includes("websocket") && (this.offered === null || this.offered.includes("websocket"));
    }
    scheduleProbe() {
      clearTimeout(this.probeTimer);
      if (this.canProbe()) {
        this.probeTimer = setTimeout(() => void this.runProbe(), this.settings.probeInterval);
      }
    }
    stopProbe() {
      clearTimeout(this.probeTimer);
      const probe = this.probe;
      this.probe = null;
      if (probe !== null) {
        this.failInflight(probe, new PubSubError("closed", "The upgrade was abandoned."));
        probe.close();
      }
    }
    /**
     * Opens a WebSocket session beside the current one and moves to it without losing or doubling
     * a publication: each channel is subscribed on the new session with `since` = its position, so
     * the new session replays from there while the old one keeps delivering; both feed the same
     * subscriptions, which drop what they have delivered already (positions are per channel and the
     * same on both sessions). Once every channel is subscribed on the new session, it takes over,
     * and the old one is closed when its pending replies are in. Anything unusual (a refused or
     * unrecovered channel, a change to the subscriptions meanwhile) abandons the attempt, which is
     * always safe: the old session never stopped.
     */
    async runProbe() {
      if (!this.canProbe() || this.probe !== null) {
        return;
      }
      const subscriptions = [...this.subscriptions.values()];
      if (subscriptions.some((subscription) => subscription.state !== "subscribed")) {
        this.scheduleProbe();
        return;
      }
      let token;
      try {
        token = await this.resolveToken();
      } catch (e) {
        this.scheduleProbe();
        return;
      }
      if (!this.canProbe() || this.probe !== null || this.context === null) {
        return;
      }
      this.context = { ...this.context, token };
      const probe = this.open("websocket");
      this.probe = probe;
      try {
        await probe.opened;
      } catch (e) {
        if (this.probe === probe) {
          this.probe = null;
          this.scheduleProbe();
        }
        return;
      }
      if (this.probe !== probe || !this.canProbe()) {
        probe.close();
        return;
      }
      this.probeVersion = this.subscriptionVersion;
      this.probeSubscribesLeft = subscriptions.length;
      if (subscriptions.length === 0) {
        this.completeProbe(probe);
        return;
      }
      for (const subscription of subscriptions) {
        this.sendSubscribe(probe, subscription, true);
      }
    }
    onProbeSubscribed(probe, subscription, since, reply) {
      var _a;
      if (this.probe !== probe) {
        return;
      }
      if (reply.error !== void 0 || since === null || ((_a = reply.result) == null ? void 0 : _a.recovered) !== true) {
        this.abortProbe(probe);
        return;
      }
      probe.activeChannels.add(subscription.channel);
      if (--this.probeSubscribesLeft === 0) {
        this.completeProbe(probe);
      }
    }
    abortProbe(probe) {
      if (this.probe !== probe) {
        return;
      }
      this.stopProbe();
      this.scheduleProbe();
    }
    completeProbe(probe) {
      const old = this.primary;
      if (old === null || this.probeVersion !== this.subscriptionVersion || this._state !== "connected") {
        this.abortProbe(probe);
        return;
      }
      this.probe = null;
      old.queue.clearControl();
      const unsent = old.queue.takeBulk();
      probe.queue.appendBulk(unsent);
      this.selector.succeeded("websocket");
      if (old.inflight.size === 0) {
        old.close();
      } else {
        this.retiring.add(old);
        setTimeout(() => {
          if (this.retiring.delete(old)) {
            this.failInflight(old, new PubSubError("timeout", "The replaced connection did not answer in time."));
            old.close();
          }
        }, this.settings.requestTimeout);
      }
      this.adopt(probe, true);
    }
  };
  _PubSubClient.DefaultNegotiateTimeout = 1e4;
  _PubSubClient.DefaultRequestTimeout = 3e4;
  _PubSubClient.DefaultHeartbeatMargin = 1e4;
  _PubSubClient.DefaultProbeInterval = 3e4;
  _PubSubClient.DefaultMaxQueueBytes = 1024 * 1024;
  _PubSubClient.DefaultSendBufferLimit = 64 * 1024;
  var PubSubClient = _PubSubClient;
  function position(result) {
    if (typeof result.epoch !== "string" || typeof result.offset !== "number") {
      throw new PubSubError("bad_frame", "A reply lacks its position ('epoch', 'offset').");
    }
    return { epoch: result.epoch, offset: result.offset };
  }
  function frameType(frame) {
    var _a, _b;
    return (_b = (_a = /"type":"([a-z]+)"/.exec(frame.text)) == null ? void 0 : _a[1]) != null ? _b : "request";
  }
  function asPubSubError(error) {
    return error instanceof PubSubError ? error : new PubSubError("transport_failed", describe(error), { cause: error });
  }
  var missingFetch = () => Promise.reject(new PubSubError("transport_failed", "There is no fetch implementation; pass one as the `fetch` option."));
  return __toCommonJS(index_exports);
})();
