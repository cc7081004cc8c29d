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
      var _a;
      super(message, details.cause === void 0 ? void 0 : { cause: details.cause });
      this.name = "PubSubError";
      this.code = code;
      this.status = details.status;
      this.disconnectCode = details.disconnectCode;
      this.terminal = (_a = details.terminal) != null ? _a : false;
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
  function subscribeRequest(channel, since) {
    return since === null ? { type: "subscribe", channel } : { type: "subscribe", channel, since: copyPosition(since) };
  }
  function unsubscribeRequest(channel) {
    return { type: "unsubscribe", channel };
  }
  function publishRequest(channel, data) {
    if (ArrayBuffer.isView(data)) {
      return { type: "publish", channel, binary: toBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) };
    }
    if (data instanceof ArrayBuffer) {
      return { type: "publish", channel, binary: toBase64(new Uint8Array(data)) };
    }
    if (data === void 0 || typeof data === "function" || typeof data === "symbol") {
      throw new PubSubError("bad_request", `Publication data must be a JSON value or bytes, not ${typeof data}.`);
    }
    return { type: "publish", channel, data };
  }
  function historyRequest(channel, options) {
    const since = options.since === void 0 ? {} : { since: copyPosition(options.since) };
    const limit = options.limit === void 0 ? {} : { limit: options.limit };
    return { type: "history", channel, ...since, ...limit };
  }
  function encodeRequest(request, id) {
    const { type, ...fields } = request;
    return JSON.stringify({ type, id, ...fields });
  }
  var PING = JSON.stringify({ type: "ping" });
  var PONG = JSON.stringify({ type: "pong" });
  var CLOSE = JSON.stringify({ type: "close" });
  function copyPosition(position) {
    return { epoch: position.epoch, offset: position.offset };
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
  async function httpError(response, url, terminal = false) {
    var _a, _b;
    let text = "";
    try {
      text = await response.text();
      const body = JSON.parse(text);
      if (typeof ((_a = body.error) == null ? void 0 : _a.code) === "string") {
        const message = typeof body.error.message === "string" ? body.error.message : text;
        return new PubSubError(body.error.code, message, { status: response.status, terminal });
      }
    } catch (e) {
    }
    const code = (_b = STATUS_CODES[response.status]) != null ? _b : "transport_failed";
    const detail = text.trim() === "" ? "" : `: ${text.trim().slice(0, 200)}`;
    return new PubSubError(code, `${url.pathname} answered ${response.status}${detail}`, { status: response.status, terminal });
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
  function asPubSubError(error) {
    return error instanceof PubSubError ? error : new PubSubError("transport_failed", describe(error), { cause: error });
  }
  async function resolveToken(source) {
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
        body: CLOSE,
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

  // src/rules.ts
  var RETRY_RULES = {
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
    // Raised by the client itself.
    connection_lost: "never",
    closed: "never",
    bad_frame: "reconnect",
    transport_failed: "reconnect",
    no_transport: "never",
    // Client codes that protocol/error-codes.json does not list (yet): a full queue says the
    // application outpaces the network, and `disconnected` is a final disconnect (4500-4999).
    queue_full: "never",
    disconnected: "never"
  };
  function retryRule(code) {
    return Object.prototype.hasOwnProperty.call(RETRY_RULES, code) ? RETRY_RULES[code] : "never";
  }
  function reconnectsAfter(code) {
    return !(code >= 4500 && code <= 4999);
  }
  function isProtocolCode(code) {
    return code >= 4e3 && code <= 4999;
  }

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
        this.fail(new PubSubError("timeout", `The ${name} transport did not deliver 'connected' within ${settings.connectTimeout} ms.`));
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
      this.end(new PubSubError("closed", "The connection was closed while it was opening."), false);
    }
    /** Ends the connection because it failed: an opening one rejects `opened`, an open one tells the listener. */
    fail(error) {
      this.end(error, true);
    }
    /** `tell` false: a quiet close. */
    end(error, tell) {
      if (this.state === "closed") {
        return;
      }
      const wasOpening = this.state === "opening";
      this.state = "closed";
      this.stopTimers();
      this.transport.close();
      if (wasOpening) {
        this.rejectOpened(error);
      } else if (tell) {
        this.listener.onClosed(this, { error });
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
        this.fail(disconnectError(disconnect.code, disconnect.reason));
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
        this.fail(disconnectError(disconnect.code, disconnect.reason));
        return;
      }
      this.fail(new PubSubError("bad_frame", `The first frame was '${frame.type}', not 'connected'.`));
    }
    onBadFrame(error) {
      this.markInbound();
      if (this.state === "opening") {
        this.fail(error);
      } else if (this.state === "open") {
        this.listener.onBadFrame(this, error);
      }
    }
    onTransportClosed(closed) {
      const code = closed.closeCode;
      this.fail(code !== void 0 && isProtocolCode(code) ? disconnectError(code, closed.error.message) : closed.error);
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
          this.fail(new PubSubError("timeout", `No frame from the server for ${Math.round(silence / 1e3)} s (heartbeat every ${interval / 1e3} s).`));
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
    const reconnect = reconnectsAfter(code);
    return new PubSubError(
      reconnect ? "transport_failed" : "disconnected",
      `The server ended the session (${code}${reason ? `: ${reason}` : ""}).`,
      { disconnectCode: code, terminal: !reconnect }
    );
  }

  // src/negotiate.ts
  var PROTOCOL_VERSION = 1;
  var DEFAULT_MAX_MESSAGE_SIZE = 65536;
  var DEFAULT_POLL_TIMEOUT_SECONDS = 25;
  async function negotiate(http, timeoutMs, cancel) {
    const url = endpoint(http.base, "negotiate");
    const started = Date.now();
    const response = await fetchWithin(http, url, { method: "GET" }, timeoutMs, cancel);
    const rtt = Date.now() - started;
    if (!response.ok) {
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      throw await httpError(response, url, !retryable);
    }
    let body;
    try {
      body = await response.json();
    } catch (error) {
      throw new PubSubError("bad_frame", `${url.pathname} did not return JSON.`, { cause: error });
    }
    return { info: parseNegotiate(body, url.pathname), rtt };
  }
  function parseNegotiate(value, source = "negotiate") {
    var _a;
    const body = typeof value === "object" && value !== null ? value : {};
    if (body.version !== PROTOCOL_VERSION) {
      throw new PubSubError(
        "bad_request",
        `The server speaks protocol version ${String(body.version)}; this client speaks version ${PROTOCOL_VERSION}.`,
        { terminal: true }
      );
    }
    if (!Array.isArray(body.transports)) {
      throw new PubSubError("bad_frame", `${source} returned no 'transports' list.`);
    }
    return {
      version: body.version,
      node: String((_a = body.node) != null ? _a : ""),
      transports: body.transports.map(String),
      encodings: Array.isArray(body.encodings) ? body.encodings.map(String) : ["json"],
      ping: typeof body.ping === "number" ? body.ping : 0,
      pollTimeout: typeof body.pollTimeout === "number" ? body.pollTimeout : DEFAULT_POLL_TIMEOUT_SECONDS,
      maxMessageSize: typeof body.maxMessageSize === "number" ? body.maxMessageSize : DEFAULT_MAX_MESSAGE_SIZE
    };
  }

  // src/RequestTracker.ts
  var RequestTracker = class {
    constructor(timeout, maxQueueBytes, route) {
      this.timeout = timeout;
      this.maxQueueBytes = maxQueueBytes;
      this.route = route;
      /** The largest frame the server accepts; negotiate's `maxMessageSize`. */
      this.maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
      this.pending = /* @__PURE__ */ new Map();
      this.nextId = 1;
      this.backlog = new OutboundQueue(maxQueueBytes);
    }
    /** Sends a request and resolves with its result as `parse` reads it; an error reply rejects with the server's code. */
    request(request, lane, parse) {
      return new Promise((resolve, reject) => {
        this.send(request, lane, {
          onReply: (reply) => {
            if (reply.error !== void 0) {
              reject(new PubSubError(reply.error.code, reply.error.message));
              return;
            }
            try {
              resolve(parse(reply.result));
            } catch (error) {
              reject(new PubSubError("bad_frame", `The reply to a ${request.type} could not be read: ${describe(error)}`));
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
    send(request, lane, handlers, connection) {
      if (!this.route.accepting()) {
        handlers.onFailed(new PubSubError("closed", "The client is closed; call connect() first."));
        return;
      }
      const id = this.nextId++;
      let text;
      try {
        text = encodeRequest(request, id);
      } catch (error) {
        handlers.onFailed(new PubSubError("bad_request", `The request could not be serialized as JSON: ${describe(error)}`, { cause: error }));
        return;
      }
      const bytes = utf8Length(text);
      if (bytes > this.maxMessageSize) {
        handlers.onFailed(new PubSubError(
          "message_too_large",
          `The ${request.type} frame is ${bytes} bytes; the server accepts at most ${this.maxMessageSize}.`
        ));
        return;
      }
      const frame = { text, bytes, lane, id };
      const target = connection != null ? connection : this.route.current();
      if (!(target !== null ? target.enqueue(frame) : this.backlog.enqueue(frame))) {
        handlers.onFailed(new PubSubError(
          "queue_full",
          `${this.maxQueueBytes} bytes are already waiting to be sent; the ${request.type} was not queued.`
        ));
        return;
      }
      const timer = setTimeout(() => this.timeOut(id), this.timeout);
      this.pending.set(id, { ...handlers, frame, type: request.type, timer });
    }
    /** Hands a reply to its request; replies to requests that already failed are dropped. */
    onReply(connection, reply) {
      connection.inflight.delete(reply.id);
      const request = this.take(reply.id);
      request == null ? void 0 : request.onReply(reply, connection);
    }
    /** Fails the requests sent on a connection that ended: their outcome is unknown. */
    failSent(connection, cause) {
      var _a;
      for (const id of connection.inflight) {
        (_a = this.take(id)) == null ? void 0 : _a.onFailed(new PubSubError(
          "connection_lost",
          `The connection was lost before the reply came; the request may or may not have taken effect (${cause.message})`,
          { cause }
        ));
      }
      connection.inflight.clear();
    }
    /** Fails every request, sent or waiting, with `error` (the client closed), and empties the backlog. */
    failAll(error) {
      var _a;
      this.backlog.clear();
      for (const id of [...this.pending.keys()]) {
        (_a = this.take(id)) == null ? void 0 : _a.onFailed(error);
      }
    }
    /** Moves what waits in the backlog onto a connection that just took over. */
    drainInto(connection) {
      connection.queue.appendBulk(this.backlog.takeBulk());
      connection.scheduleFlush();
    }
    timeOut(id) {
      const request = this.take(id);
      if (request === void 0) {
        return;
      }
      const unsent = this.backlog.remove(request.frame) || this.route.queues().some((connection) => connection.queue.remove(request.frame));
      request.onFailed(new PubSubError("timeout", unsent ? `The ${request.type} could not be sent within ${this.timeout} ms; it was not sent.` : `No reply to the ${request.type} within ${this.timeout} ms; it may or may not have taken effect.`));
    }
    take(id) {
      const request = this.pending.get(id);
      if (request !== void 0) {
        clearTimeout(request.timer);
        this.pending.delete(id);
      }
      return request;
    }
  };

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
    handleLiveGap(position) {
      const from = this._position;
      if (from !== null && from.epoch === position.epoch && position.offset <= from.offset) {
        return;
      }
      this._position = { ...position };
      this.emit("missed", { channel: this.channel, from: from === null ? { ...position } : { ...from }, position: { ...position } });
    }
    /**
     * @internal Delivers a publication unless it was delivered already. Each connection delivers a
     * channel's publications in offset order without gaps from where its subscribe started, so
     * "newer than the position" is exactly "not seen yet", even with two connections overlapping.
     * Returns whether it was delivered.
     */
    handleMessage(frame) {
      const position = this._position;
      if (position !== null && frame.epoch === position.epoch && frame.offset <= position.offset) {
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

  // src/SubscriptionSet.ts
  var SubscriptionSet = class {
    constructor(requests, host, owner) {
      this.requests = requests;
      this.host = host;
      this.owner = owner;
      this.byChannel = /* @__PURE__ */ new Map();
      this.retryTimers = /* @__PURE__ */ new Map();
    }
    get(channel) {
      return this.byChannel.get(channel);
    }
    all() {
      return [...this.byChannel.values()];
    }
    /** Adds a subscription and, when connected, subscribes it at once. */
    add(channel, since) {
      if (typeof channel !== "string" || channel === "") {
        throw new PubSubError("invalid_channel", "A channel name must be a non-empty string.");
      }
      if (this.byChannel.has(channel)) {
        throw new PubSubError(
          "already_subscribed",
          `Already subscribed to '${channel}'; use getSubscription() to reach it, or unsubscribe() it first.`
        );
      }
      const subscription = new Subscription(channel, this.owner, since);
      this.byChannel.set(channel, subscription);
      const connection = this.host.current();
      if (connection !== null) {
        this.subscribe(connection, subscription);
      }
      return subscription;
    }
    /** Ends a subscription by the application's wish; resolves when the server confirmed it (at once when not connected). */
    remove(subscription, retiring) {
      if (!this.end(subscription, null)) {
        return Promise.resolve();
      }
      for (const connection2 of retiring) {
        connection2.activeChannels.delete(subscription.channel);
      }
      const connection = this.host.current();
      if (connection === null) {
        return Promise.resolve();
      }
      connection.activeChannels.delete(subscription.channel);
      return new Promise((resolve, reject) => {
        this.requests.send(unsubscribeRequest(subscription.channel), "control", {
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
    /** A connection took over after a (re)connect: every subscription is subscribed on it, from its position. */
    resubscribeAll(connection) {
      for (const subscription of this.byChannel.values()) {
        this.subscribe(connection, subscription);
      }
    }
    /** The connection in use was lost (or the client closed): retries stop, and each subscription waits for the next one. */
    disconnected() {
      this.stopRetries();
      for (const subscription of this.byChannel.values()) {
        subscription.handleDisconnected();
      }
    }
    /** Whether every subscription is established, so an upgrade may start. */
    allSubscribed() {
      return this.all().every((subscription) => subscription.state === "subscribed");
    }
    /** Whether the set is the one `snapshot` took: an upgrade that raced a subscribe or unsubscribe is abandoned. */
    unchangedSince(snapshot) {
      return snapshot.length === this.byChannel.size && snapshot.every((subscription) => this.byChannel.get(subscription.channel) === subscription);
    }
    /**
     * For an upgrade: subscribes on a second connection from the subscription's position, and tells
     * `done` whether that session recovered it exactly (so it can take over without a gap). From the
     * reply on, that connection delivers the channel too; the subscription drops what it has seen.
     */
    subscribeAlongside(connection, subscription, done) {
      const since = subscription.recoveryPosition();
      this.requests.send(subscribeRequest(subscription.channel, since), "control", {
        onReply: (reply) => {
          var _a;
          const recovered = reply.error === void 0 && since !== null && ((_a = reply.result) == null ? void 0 : _a.recovered) === true;
          if (recovered) {
            connection.activeChannels.add(subscription.channel);
          }
          done(recovered);
        },
        onFailed: () => done(false)
      }, connection);
    }
    // ---- Frames of a connection ----------------------------------------------------------------------
    onMessage(connection, frame) {
      const subscription = this.byChannel.get(frame.channel);
      if (subscription !== void 0 && connection.activeChannels.has(frame.channel)) {
        subscription.handleMessage(frame);
      }
    }
    onUnsubscribed(connection, frame) {
      if (!connection.activeChannels.delete(frame.channel) || connection !== this.host.current()) {
        return;
      }
      const subscription = this.byChannel.get(frame.channel);
      if (subscription !== void 0) {
        this.end(subscription, new PubSubError(frame.code, frame.reason || `The server ended the subscription to '${frame.channel}'.`));
      }
    }
    /**
     * On a live subscription: the node lost publications it could not recover (section 2.4), and
     * the subscription continues from the frame's position. Otherwise: a subscription the server
     * made without a subscribe frame (not one this client asks for, but the protocol allows it).
     */
    onSubscribed(connection, frame) {
      const subscription = this.byChannel.get(frame.channel);
      if (subscription === void 0) {
        return;
      }
      if (connection.activeChannels.has(frame.channel)) {
        if (frame.recovered === false) {
          subscription.handleLiveGap({ epoch: frame.epoch, offset: frame.offset });
        }
        return;
      }
      if (connection !== this.host.current()) {
        return;
      }
      connection.activeChannels.add(frame.channel);
      const since = frame.recovered === void 0 ? null : subscription.recoveryPosition();
      subscription.handleSubscribed(frame, since);
    }
    // ---- Subscribing ---------------------------------------------------------------------------------
    subscribe(connection, subscription) {
      const since = subscription.recoveryPosition();
      this.requests.send(subscribeRequest(subscription.channel, since), "control", {
        onReply: (reply) => this.onReply(connection, subscription, since, reply),
        onFailed: (error) => {
          if (error.code === "timeout" && connection === this.host.current()) {
            connection.fail(error);
          }
        }
      }, connection);
    }
    onReply(connection, subscription, since, reply) {
      if (this.byChannel.get(subscription.channel) !== subscription || connection !== this.host.current()) {
        return;
      }
      if (reply.error !== void 0) {
        this.refused(connection, subscription, new PubSubError(reply.error.code, reply.error.message));
        return;
      }
      const result = reply.result;
      if (typeof result.epoch !== "string" || typeof result.offset !== "number") {
        this.host.reportError(new PubSubError("bad_frame", "A reply lacks its position ('epoch', 'offset')."));
        return;
      }
      connection.activeChannels.add(subscription.channel);
      const recovered = typeof result.recovered === "boolean" ? { recovered: result.recovered } : {};
      subscription.handleSubscribed({ epoch: result.epoch, offset: result.offset, ...recovered }, since);
    }
    refused(connection, subscription, error) {
      switch (retryRule(error.code)) {
        case "later": {
          const delay = subscription.handleTransientFailure(error);
          this.retryTimers.set(subscription, setTimeout(() => {
            this.retryTimers.delete(subscription);
            if (connection === this.host.current() && this.byChannel.get(subscription.channel) === subscription) {
              this.subscribe(connection, subscription);
            }
          }, delay));
          return;
        }
        case "reconnect":
          subscription.handleTransientFailure(error);
          connection.fail(error);
          return;
        case "never":
          this.end(subscription, error);
          return;
      }
    }
    /** Removes a subscription and tells it why; false when it had ended already. */
    end(subscription, error) {
      if (this.byChannel.get(subscription.channel) !== subscription) {
        return false;
      }
      this.byChannel.delete(subscription.channel);
      clearTimeout(this.retryTimers.get(subscription));
      this.retryTimers.delete(subscription);
      subscription.handleEnded(error);
      return true;
    }
    stopRetries() {
      for (const timer of this.retryTimers.values()) {
        clearTimeout(timer);
      }
      this.retryTimers.clear();
    }
  };

  // src/TransportUpgrade.ts
  var TransportUpgrade = class {
    constructor(interval, subscriptions, host) {
      this.interval = interval;
      this.subscriptions = subscriptions;
      this.host = host;
      this.state = { kind: "idle" };
    }
    /** The probe's connection while one is open. */
    get probe() {
      return this.state.kind === "opening" || this.state.kind === "subscribing" ? this.state.probe : null;
    }
    /** Waits `interval` ms, then tries; does nothing when the client cannot move up. */
    schedule() {
      this.stop();
      if (this.interval > 0 && this.host.canUpgrade()) {
        this.state = { kind: "waiting", timer: setTimeout(() => void this.run(), this.interval) };
      }
    }
    /** Abandons any upgrade (the client disconnected, closed, or the probe failed). */
    stop() {
      const state = this.state;
      this.state = { kind: "idle" };
      if (state.kind === "waiting") {
        clearTimeout(state.timer);
      } else if (state.kind !== "idle" && state.probe !== null) {
        this.host.abandon(state.probe, new PubSubError("closed", "The upgrade was abandoned."));
        state.probe.close();
      }
    }
    /** The probe's connection ended by itself: try again later. Returns whether `connection` was the probe. */
    onClosed(connection) {
      if (this.probe !== connection) {
        return false;
      }
      this.state = { kind: "idle" };
      this.schedule();
      return true;
    }
    async run() {
      if (!this.host.canUpgrade()) {
        this.state = { kind: "idle" };
        return;
      }
      if (!this.subscriptions.allSubscribed()) {
        this.schedule();
        return;
      }
      this.state = { kind: "opening", probe: null };
      const opening = this.state;
      if (!await this.host.prepare()) {
        if (this.state === opening) {
          this.schedule();
        }
        return;
      }
      if (this.state !== opening || !this.host.canUpgrade()) {
        return;
      }
      const probe = this.host.openWebSocket();
      const opened = { kind: "opening", probe };
      this.state = opened;
      try {
        await probe.opened;
      } catch (e) {
        if (this.state === opened) {
          this.state = { kind: "idle" };
          this.schedule();
        }
        return;
      }
      if (this.state !== opened || !this.host.canUpgrade()) {
        probe.close();
        return;
      }
      const snapshot = this.subscriptions.all();
      const subscribing = { kind: "subscribing", probe, snapshot, left: new Set(snapshot) };
      this.state = subscribing;
      if (snapshot.length === 0) {
        this.complete(probe);
        return;
      }
      for (const subscription of snapshot) {
        this.subscriptions.subscribeAlongside(probe, subscription, (recovered) => {
          if (this.state !== subscribing) {
            return;
          }
          if (!recovered) {
            this.schedule();
            return;
          }
          subscribing.left.delete(subscription);
          if (subscribing.left.size === 0) {
            this.complete(probe);
          }
        });
      }
    }
    complete(probe) {
      const state = this.state;
      if (state.kind !== "subscribing" || !this.host.canUpgrade() || !this.subscriptions.unchangedSince(state.snapshot)) {
        this.schedule();
        return;
      }
      this.state = { kind: "idle" };
      this.host.takeOver(probe);
    }
  };

  // src/Supervisor.ts
  var Supervisor = class {
    constructor(parts, emit, owner) {
      this.parts = parts;
      this.emit = emit;
      /** Connections replaced by an upgrade that still owe replies; each closes when the last is in. */
      this.retiring = /* @__PURE__ */ new Set();
      this.connectWaiters = [];
      this.phase = { kind: "closed" };
      this.link = null;
      /** Unsubscribes, telling connections that an upgrade retired as well. */
      this.unsubscribe = (subscription) => this.subscriptions.remove(subscription, this.retiring);
      this.connectionListener = {
        onFrame: (connection, frame) => this.onFrame(connection, frame),
        onBadFrame: (_connection, error) => this.emit("error", error),
        onClosed: (connection, closed) => this.onConnectionClosed(connection, closed)
      };
      this.settings = parts.settings;
      this.requests = new RequestTracker(this.settings.requestTimeout, this.settings.maxQueueBytes, {
        current: () => this.current(),
        accepting: () => this.phase.kind !== "closed",
        queues: () => [this.current(), this.upgrade.probe].filter((connection) => connection !== null)
      });
      this.subscriptions = new SubscriptionSet(this.requests, {
        current: () => this.current(),
        reportError: (error) => this.emit("error", error)
      }, owner);
      this.upgrade = new TransportUpgrade(this.settings.probeInterval, this.subscriptions, {
        canUpgrade: () => this.canUpgrade(),
        prepare: () => this.prepareUpgrade(),
        openWebSocket: () => this.open("websocket"),
        takeOver: (probe) => this.takeOver(probe),
        abandon: (connection, error) => this.requests.failSent(connection, error)
      });
    }
    get state() {
      return this.phase.kind;
    }
    /** The connection in use; null unless connected. */
    current() {
      return this.phase.kind === "connected" ? this.phase.connection : null;
    }
    connect() {
      if (this.phase.kind === "connected") {
        return Promise.resolve();
      }
      const connected = new Promise((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
      if (this.phase.kind === "closed") {
        this.parts.backoff.reset();
        const run = { cancel: new AbortController(), opening: null, retry: null };
        this.enter({ kind: "connecting", run });
        void this.attempt(run);
      }
      return connected;
    }
    /** Ends the run: closes every connection, fails every request (with `error`, or `closed`), rejects `connect()`. */
    shutdown(error) {
      const phase = this.phase;
      if (phase.kind === "closed") {
        return;
      }
      const run = phase.run;
      run.cancel.abort();
      this.stopRetry(run);
      this.upgrade.stop();
      for (const connection of [this.current(), run.opening, ...this.retiring]) {
        connection == null ? void 0 : connection.close();
      }
      run.opening = null;
      this.retiring.clear();
      const failure = error != null ? error : new PubSubError("closed", "The client was closed.");
      this.requests.failAll(failure);
      this.subscriptions.disconnected();
      this.enter({ kind: "closed" }, error != null ? error : void 0);
      for (const waiter of this.connectWaiters.splice(0)) {
        waiter.reject(failure);
      }
    }
    // ---- Connecting ------------------------------------------------------------------------------
    isCurrent(run) {
      return this.phase.kind !== "closed" && this.phase.run === run;
    }
    async attempt(run) {
      let connection;
      try {
        connection = await this.establish(run);
      } catch (error) {
        if (!this.isCurrent(run)) {
          return;
        }
        const failure = asPubSubError(error);
        if (failure.terminal || !this.settings.reconnect || this.parts.backoff.attempts >= this.settings.maxAttempts) {
          this.shutdown(failure);
          return;
        }
        this.emit("error", failure);
        this.scheduleRetry(run);
        return;
      }
      if (!this.isCurrent(run)) {
        connection.close();
        return;
      }
      this.adopt(run, connection, false);
    }
    /**
     * Waits the next backoff delay, then tries again. A browser that reports it is back online
     * (the window's `online` event) cuts the wait short: the network that failed is likely back.
     */
    scheduleRetry(run) {
      const retry = () => {
        this.stopRetry(run);
        if (this.isCurrent(run)) {
          void this.attempt(run);
        }
      };
      const timer = setTimeout(retry, this.parts.backoff.next());
      const events = globalThis;
      let stopOnline = () => void 0;
      if (typeof events.addEventListener === "function") {
        events.addEventListener("online", retry);
        stopOnline = () => globalThis.removeEventListener("online", retry);
      }
      run.retry = { timer, stopOnline };
    }
    stopRetry(run) {
      if (run.retry !== null) {
        clearTimeout(run.retry.timer);
        run.retry.stopOnline();
        run.retry = null;
      }
    }
    /** Negotiates, then lets the selector try each transport in order; resolves with the first connection that delivers `connected`. */
    async establish(run) {
      var _a, _b, _c, _d, _e;
      const token = await resolveToken(this.parts.token);
      const http = { base: this.parts.base, token, withCredentials: this.parts.withCredentials, fetch: this.parts.fetch };
      const negotiated = this.settings.negotiate ? await negotiate(http, this.settings.negotiateTimeout, run.cancel.signal) : null;
      const info = (_a = negotiated == null ? void 0 : negotiated.info) != null ? _a : null;
      const offered = (_b = info == null ? void 0 : info.transports) != null ? _b : null;
      this.requests.maxMessageSize = (_c = info == null ? void 0 : info.maxMessageSize) != null ? _c : DEFAULT_MAX_MESSAGE_SIZE;
      this.link = {
        offered,
        rtt: (_d = negotiated == null ? void 0 : negotiated.rtt) != null ? _d : null,
        context: {
          ...http,
          WebSocket: this.parts.WebSocket,
          EventSource: this.parts.EventSource,
          pollTimeout: ((_e = info == null ? void 0 : info.pollTimeout) != null ? _e : DEFAULT_POLL_TIMEOUT_SECONDS) * 1e3,
          requestTimeout: this.settings.requestTimeout,
          sendBufferLimit: this.settings.sendBufferLimit
        }
      };
      const order = this.parts.selector.order(offered);
      if (order.length === 0) {
        throw new PubSubError(
          "no_transport",
          `The server offers ${offered.join(", ") || "no transports"}; this client allows ${this.settings.transports.join(", ")}.`,
          { terminal: true }
        );
      }
      try {
        return await this.parts.selector.connect(
          order,
          (name) => run.opening = this.open(name),
          () => !this.isCurrent(run),
          (failure) => this.emit("error", failure)
        );
      } finally {
        run.opening = null;
      }
    }
    open(name) {
      const link = this.link;
      return new Connection(name, link.context, {
        connectTimeout: this.parts.selector.timeout(name, link.rtt, this.settings.transportTimeout),
        maxMessageSize: this.requests.maxMessageSize,
        maxQueueBytes: this.settings.maxQueueBytes,
        heartbeatMargin: this.settings.heartbeatMargin
      }, this.connectionListener);
    }
    /**
     * Makes a connected session the one in use: every channel subscribes on it (before anything an
     * event listener may add), what waited in the backlog follows, then the state turns `connected`.
     */
    adopt(run, connection, upgrade) {
      this.parts.backoff.reset();
      if (!upgrade) {
        this.subscriptions.resubscribeAll(connection);
      }
      this.requests.drainInto(connection);
      this.enter({ kind: "connected", run, connection });
      const info = connection.info;
      this.emit("connected", { transport: connection.name, session: info.session, node: info.node, upgrade });
      for (const waiter of this.connectWaiters.splice(0)) {
        waiter.resolve();
      }
      this.upgrade.schedule();
    }
    onConnectionClosed(connection, closed) {
      this.requests.failSent(connection, closed.error);
      if (this.upgrade.onClosed(connection) || this.retiring.delete(connection) || connection !== this.current()) {
        return;
      }
      const run = this.phase.run;
      this.upgrade.stop();
      this.subscriptions.disconnected();
      this.requests.backlog.appendBulk(connection.queue.takeBulk());
      if (closed.error.terminal || !this.settings.reconnect) {
        this.shutdown(closed.error);
        return;
      }
      this.emit("error", closed.error);
      this.enter({ kind: "reconnecting", run }, closed.error);
      this.scheduleRetry(run);
    }
    /** The one place the state changes; listeners hear of each change of state or transport. */
    enter(next, error) {
      const previous = this.phase;
      this.phase = next;
      const transport = next.kind === "connected" ? next.connection.name : null;
      const before = previous.kind === "connected" ? previous.connection.name : null;
      if (previous.kind === next.kind && transport === before && error === void 0) {
        return;
      }
      const change = { state: next.kind, previous: previous.kind, transport };
      this.emit("state", error === void 0 ? change : { ...change, error });
    }
    // ---- Moving up to WebSocket (TransportUpgrade) -------------------------------------------------
    canUpgrade() {
      var _a;
      const connection = this.current();
      return connection !== null && connection.name !== "websocket" && this.settings.transports.includes("websocket") && (((_a = this.link) == null ? void 0 : _a.offered) == null || this.link.offered.includes("websocket"));
    }
    async prepareUpgrade() {
      let token;
      try {
        token = await resolveToken(this.parts.token);
      } catch (e) {
        return false;
      }
      if (this.link === null) {
        return false;
      }
      this.link.context = { ...this.link.context, token };
      return true;
    }
    /** The probe recovered every channel: it takes over, and the old connection closes once its pending replies are in. */
    takeOver(probe) {
      const phase = this.phase;
      if (phase.kind !== "connected") {
        return;
      }
      const old = phase.connection;
      old.queue.clearControl();
      probe.queue.appendBulk(old.queue.takeBulk());
      this.parts.selector.succeeded("websocket");
      if (old.inflight.size === 0) {
        old.close();
      } else {
        this.retiring.add(old);
        setTimeout(() => {
          if (this.retiring.delete(old)) {
            this.requests.failSent(old, new PubSubError("timeout", "The replaced connection did not answer in time."));
            old.close();
          }
        }, this.settings.requestTimeout);
      }
      this.adopt(phase.run, probe, true);
    }
    // ---- Frames ----------------------------------------------------------------------------------
    onFrame(connection, frame) {
      switch (frame.type) {
        case "message":
          this.subscriptions.onMessage(connection, frame);
          break;
        case "reply":
          this.requests.onReply(connection, frame);
          if (this.retiring.has(connection) && connection.inflight.size === 0) {
            this.retiring.delete(connection);
            connection.close();
          }
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
          this.subscriptions.onUnsubscribed(connection, frame);
          break;
        case "subscribed":
          this.subscriptions.onSubscribed(connection, frame);
          break;
        default:
          break;
      }
    }
  };

  // src/types.ts
  var ALL_TRANSPORTS = ["websocket", "sse", "long-polling"];

  // src/settings.ts
  var Defaults = {
    negotiateTimeout: 1e4,
    requestTimeout: 3e4,
    heartbeatMargin: 1e4,
    probeInterval: 3e4,
    maxQueueBytes: 1024 * 1024,
    sendBufferLimit: 64 * 1024
  };
  function resolveSettings(options) {
    var _a, _b, _c, _d, _e, _f, _g, _h, _i, _j;
    const reconnect = (_a = options.reconnect) != null ? _a : true;
    const reconnectOptions = typeof reconnect === "object" ? reconnect : {};
    const transports = (_b = options.transports) != null ? _b : [...ALL_TRANSPORTS];
    for (const name of transports) {
      if (!ALL_TRANSPORTS.includes(name)) {
        throw new TypeError(`Unknown transport '${String(name)}'; use ${ALL_TRANSPORTS.map((t) => `'${t}'`).join(", ")}.`);
      }
    }
    if (transports.length === 0) {
      throw new TypeError("`transports` must name at least one transport.");
    }
    const settings = {
      transports: [...transports],
      reconnect: reconnect !== false,
      maxAttempts: (_c = reconnectOptions.maxAttempts) != null ? _c : Infinity,
      negotiate: (_d = options.negotiate) != null ? _d : true,
      transportTimeout: options.transportTimeout,
      negotiateTimeout: (_e = options.negotiateTimeout) != null ? _e : Defaults.negotiateTimeout,
      requestTimeout: (_f = options.requestTimeout) != null ? _f : Defaults.requestTimeout,
      heartbeatMargin: (_g = options.heartbeatMargin) != null ? _g : Defaults.heartbeatMargin,
      probeInterval: (_h = options.probeInterval) != null ? _h : Defaults.probeInterval,
      maxQueueBytes: (_i = options.maxQueueBytes) != null ? _i : Defaults.maxQueueBytes,
      sendBufferLimit: (_j = options.sendBufferLimit) != null ? _j : Defaults.sendBufferLimit
    };
    return { settings, reconnectOptions };
  }

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
    /**
     * Tries the transports of `order` one after the other and resolves with the first connection
     * that delivers `connected` (remembering its transport). Each failure goes to `onFailure` (when
     * there is another transport to try) and forgets the transport if it was the remembered one.
     * Rejects with `transport_failed` listing every failure, or `closed` once `cancelled()`.
     */
    async connect(order, open, cancelled, onFailure) {
      const failures = [];
      for (const name of order) {
        if (cancelled()) {
          throw new PubSubError("closed", "The client was closed.");
        }
        const connection = open(name);
        try {
          await connection.opened;
          this.succeeded(name);
          return connection;
        } catch (error) {
          if (cancelled()) {
            throw new PubSubError("closed", "The client was closed.");
          }
          const failure = asPubSubError(error);
          failures.push(`${name}: ${failure.message}`);
          this.failed(name);
          if (order.length > 1) {
            onFailure(failure);
          }
        }
      }
      throw new PubSubError("transport_failed", `No transport connected. ${failures.join(" ")}`);
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

  // src/PubSubClient.ts
  var PubSubClient = class extends Emitter {
    /**
     * @param url the endpoints' prefix, such as `https://example.com/pubsub` or, in a page, `/pubsub`.
     */
    constructor(url, options = {}) {
      var _a, _b, _c;
      super();
      const location = (_a = globalThis.location) == null ? void 0 : _a.href;
      let base;
      try {
        base = new URL(url, location);
      } catch (e) {
        throw new TypeError(`'${url}' is not a URL${location === void 0 ? " (outside a browser it must be absolute)" : ""}.`);
      }
      if (base.protocol === "ws:" || base.protocol === "wss:") {
        base.protocol = base.protocol === "wss:" ? "https:" : "http:";
      }
      this.url = base.href;
      const { settings, reconnectOptions } = resolveSettings(options);
      const storage = options.rememberTransport === false ? null : options.storage === void 0 ? TransportSelector.defaultStorage() : options.storage;
      const fetchImpl = (_b = options.fetch) != null ? _b : globalThis.fetch;
      const owner = {
        unsubscribe: (subscription) => this.supervisor.unsubscribe(subscription),
        publish: (channel, data) => this.publish(channel, data),
        history: (channel, historyOptions) => this.history(channel, historyOptions),
        reportError: (error) => this.emit("error", error)
      };
      this.supervisor = new Supervisor({
        base,
        settings,
        backoff: new Backoff(reconnectOptions.initialDelay, reconnectOptions.maxDelay),
        selector: new TransportSelector(settings.transports, storage, `pubsub.transport ${this.url}`),
        // Called unbound, a browser's fetch throws "Illegal invocation".
        fetch: fetchImpl === void 0 ? missingFetch : fetchImpl.bind(globalThis),
        token: options.token,
        WebSocket: options.WebSocket,
        EventSource: options.EventSource,
        withCredentials: (_c = options.withCredentials) != null ? _c : false
      }, (event, value) => this.emit(event, value), owner);
    }
    /** The connection state. */
    get state() {
      return this.supervisor.state;
    }
    /** The transport in use; null unless connected. */
    get transport() {
      var _a, _b;
      return (_b = (_a = this.supervisor.current()) == null ? void 0 : _a.name) != null ? _b : null;
    }
    /** The server session's id; null unless connected. */
    get session() {
      var _a, _b, _c;
      return (_c = (_b = (_a = this.supervisor.current()) == null ? void 0 : _a.info) == null ? void 0 : _b.session) != null ? _c : null;
    }
    /**
     * Connects, and resolves once connected. Transient failures are retried with backoff (the state
     * stays `connecting`); the promise rejects when the client is closed first, when the server
     * refuses the client for good (such as a 403 from negotiate, or no common transport), or when
     * `reconnect.maxAttempts` attempts failed.
     */
    connect() {
      return this.supervisor.connect();
    }
    /**
     * Closes the connection, stops reconnecting, and fails pending requests with `closed`.
     * Subscriptions stay, with their positions: a later `connect()` re-subscribes and recovers.
     */
    close() {
      this.supervisor.shutdown(null);
    }
    /**
     * Subscribes to a channel. The subscription is sent when connected (at once if connected now)
     * and renewed after every reconnect. Listen for `message` before the first `await`.
     */
    subscribe(channel, options = {}) {
      var _a;
      return this.supervisor.subscriptions.add(channel, (_a = options.since) != null ? _a : null);
    }
    /** The subscription to a channel, if there is one. */
    getSubscription(channel) {
      return this.supervisor.subscriptions.get(channel);
    }
    /** All current subscriptions. */
    getSubscriptions() {
      return this.supervisor.subscriptions.all();
    }
    /**
     * Publishes `data` to a channel: any JSON value, or bytes (a `Uint8Array`, another typed array
     * or DataView, or an `ArrayBuffer`), sent as a binary publication. Resolves with the
     * publication's position. Publishes made while the client reconnects wait in a bounded queue;
     * one whose connection drops after it was sent rejects with `connection_lost`, since it may or
     * may not have been published.
     */
    publish(channel, data) {
      let request;
      try {
        request = publishRequest(channel, data);
      } catch (error) {
        return Promise.reject(error);
      }
      return this.supervisor.requests.request(request, "bulk", readPosition);
    }
    /** Reads a channel's history: the publications after `since` (or the latest ones), oldest first. */
    history(channel, options = {}) {
      return this.supervisor.requests.request(historyRequest(channel, options), "bulk", (result) => {
        const publications = Array.isArray(result.publications) ? result.publications : [];
        return {
          ...readPosition(result),
          publications: publications.map((publication) => ({
            offset: Number(publication.offset),
            data: typeof publication.binary === "string" ? fromBase64(publication.binary) : publication.data
          }))
        };
      });
    }
  };
  PubSubClient.DefaultNegotiateTimeout = Defaults.negotiateTimeout;
  PubSubClient.DefaultRequestTimeout = Defaults.requestTimeout;
  PubSubClient.DefaultHeartbeatMargin = Defaults.heartbeatMargin;
  PubSubClient.DefaultProbeInterval = Defaults.probeInterval;
  PubSubClient.DefaultMaxQueueBytes = Defaults.maxQueueBytes;
  PubSubClient.DefaultSendBufferLimit = Defaults.sendBufferLimit;
  function readPosition(result) {
    if (typeof result.epoch !== "string" || typeof result.offset !== "number") {
      throw new PubSubError("bad_frame", "A reply lacks its position ('epoch', 'offset').");
    }
    return { epoch: result.epoch, offset: result.offset };
  }
  var missingFetch = () => Promise.reject(new PubSubError("transport_failed", "There is no fetch implementation; pass one as the `fetch` option."));
  return __toCommonJS(index_exports);
})();
