// An in-memory PubSub server for unit tests: speaks protocol v1 (docs/protocol.md) over fake
// WebSockets, fake EventSources and a fake fetch, so the real client and its real transports run
// against it, and tests can break any part of it on purpose. The real server is tested against
// in test/node and test/browser; this one exists to make failures happen exactly when a test wants.

import type { EventSourceConstructor, FetchFunction, StreamPosition, WebSocketConstructor } from "../../src/types.js";
import { FakeEventSource } from "./FakeEventSource.js";
import { FakeWebSocket } from "./FakeWebSocket.js";

type Behaviour = "accept" | "silent" | "refuse";
import { FakeChannels } from "./FakeChannels.js";
import type { Frame } from "./FakeChannels.js";

export interface HttpRequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  headers: Headers;
}

/** One server session, on one transport. */
export class FakeSession {
  readonly subscriptions = new Set<string>();
  /** What the connect hook attached (presence `info`), and the signed-in user; absent for a plain anonymous session. */
  info: unknown = undefined;
  user: string | undefined = undefined;
  /** Every frame the client sent on this session, parsed. */
  readonly received: Frame[] = [];
  closed = false;
  dropped = false;
  // Long-polling: the session's frames, numbered from 1, kept until acknowledged.
  readonly pollFrames: { number: number; text: string }[] = [];
  nextNumber = 1;
  acked = 0;
  lastSent = 0;
  wakePoll: (() => void) | null = null;

  constructor(
    readonly server: FakeServer,
    readonly id: string,
    readonly transport: "websocket" | "sse" | "long-polling",
    readonly socket: FakeWebSocket | null,
    readonly source: FakeEventSource | null,
  ) {}

  /** Sends frames to the client (a WebSocket message holds them all; SSE sends one event each). */
  send(...frames: (Frame | string)[]): void {
    if (this.closed) {
      return;
    }
    const texts = frames.map((frame) => (typeof frame === "string" ? frame : JSON.stringify(frame)));
    if (this.socket !== null) {
      const socket = this.socket;
      queueMicrotask(() => socket.receive(texts.join("\n")));
    } else if (this.source !== null) {
      const source = this.source;
      queueMicrotask(() => texts.forEach((text) => source.emit(text, "-")));
    } else {
      for (const text of texts) {
        this.pollFrames.push({ number: this.nextNumber++, text });
      }
      this.wakePoll?.();
    }
  }

  /** This session as a presence member, as join and leave frames carry it. */
  member(): Record<string, unknown> {
    return { session: this.id, ...(this.user === undefined ? {} : { user: this.user }), ...(this.info === undefined ? {} : { info: this.info }) };
  }

  /** Subscribes the session from the server's side (the server API): a `subscribed` frame, no recovery. */
  serverSubscribe(channel: string): void {
    this.server.channels.serverSubscribe(this, channel);
  }

  /** Ends one of its subscriptions from the server's side (the server API's unsubscribe). */
  serverUnsubscribe(channel: string, code: string, reason: string): void {
    this.server.channels.serverUnsubscribe(this, channel, code, reason);
  }

  /** Ends the session with a `disconnect` frame (and, on WebSocket, a close frame with the code). */
  disconnect(code: number, reason: string, reconnect: boolean): void {
    this.send({ type: "disconnect", code, reason, reconnect });
    const socket = this.socket;
    const source = this.source;
    this.closed = true;
    queueMicrotask(() => {
      socket?.drop(code, reason);
      source?.fail();
    });
  }

  /** Ends the session abruptly: a network failure or a server that died (its state is gone). */
  drop(): void {
    this.closed = true;
    this.dropped = true;
    this.pollFrames.length = 0;
    this.socket?.drop(1006);
    this.source?.fail();
    this.wakePoll?.();
  }
}

export class FakeServer {
  transports: string[];
  ws: Behaviour = "accept";
  sse: Behaviour = "accept";
  poll: Behaviour = "accept";
  /** Seconds in the `connected` frame's `ping`. */
  ping = 25;
  pollTimeout = 25;
  maxMessageSize = 65_536;
  historySize = 100;
  negotiateStatus = 200;
  /** While true the server is unreachable: negotiate fails on the network, and so does every transport. */
  down = false;
  node = "fakenode";
  /** Answer the next N polls' responses, then fail them on the network (the server did its part). */
  losePollResponses = 0;
  /** Fail the next N /send requests on the network before the server sees them. */
  failSends = 0;
  /** Channels the connect hook subscribes every new session to (each gets a `subscribed` frame after `connected`). */
  connectChannels: string[] = [];
  /**
   * While set, each new session gets `connected` and at once this disconnect, in the same batch:
   * a node that is stopping, whose open connections still bring it new sessions.
   */
  closeNewSessions: { code: number; reason: string } | null = null;
  /** Called with each client frame; return true to swallow it (no reply). */
  intercept: ((session: FakeSession, frame: Frame) => boolean) | null = null;

  readonly sockets: FakeWebSocket[] = [];
  readonly eventSources: FakeEventSource[] = [];
  readonly sessions: FakeSession[] = [];
  readonly requests: HttpRequestRecord[] = [];
  readonly channels = new FakeChannels(() => this.historySize, () => this.openSessions());
  private sessionCount = 0;

  constructor(transports: string[] = ["websocket", "sse", "long-polling"]) {
    this.transports = transports;
  }

  /** The WebSocket constructor to give the client: its sockets connect to this server. */
  get WebSocket(): WebSocketConstructor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    return class extends FakeWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        server.onWebSocket(this);
      }
    };
  }

  get EventSource(): EventSourceConstructor {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    return class extends FakeEventSource {
      constructor(url: string, init?: { withCredentials?: boolean }) {
        super(url, init);
        server.onEventSource(this);
      }
    };
  }

  readonly fetch: FetchFunction = async (input, init = {}) => {
    const url = new URL(input);
    const record: HttpRequestRecord = {
      method: init.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      body: typeof init.body === "string" ? init.body : "",
      headers: new Headers(init.headers),
    };
    this.requests.push(record);
    await Promise.resolve();
    if (this.down) {
      throw new TypeError("fetch failed (connect ECONNREFUSED: the test took the server down)");
    }
    if (url.pathname.endsWith("/negotiate")) {
      return this.negotiate();
    }
    if (url.pathname.endsWith("/poll")) {
      return this.handlePoll(record, init.signal ?? null);
    }
    if (url.pathname.endsWith("/send")) {
      return this.handleSend(record);
    }
    return json(404, { error: { code: "not_found", message: "No such endpoint." } });
  };

  /** The live session on a transport (the last one opened). */
  session(transport?: string): FakeSession {
    const open = this.sessions.filter((session) => !session.closed && (transport === undefined || session.transport === transport));
    const session = open[open.length - 1];
    if (session === undefined) {
      throw new Error(`No open ${transport ?? ""} session.`);
    }
    return session;
  }

  openSessions(): FakeSession[] {
    return this.sessions.filter((session) => !session.closed);
  }

  /** Publishes as a back-end would (the server API); returns the publication's position. */
  publish(channel: string, data: unknown, binary?: string): StreamPosition {
    return this.channels.publish(channel, data, binary);
  }

  position(channel: string): StreamPosition {
    return this.channels.position(channel);
  }

  /** Every session fails at once, as when the network drops. */
  dropAll(): void {
    for (const session of this.openSessions()) {
      session.drop();
    }
  }

  /** The server becomes unreachable (sessions fail; every new request fails) until `up()`. */
  goDown(): void {
    this.down = true;
    this.dropAll();
  }

  up(): void {
    this.down = false;
  }

  /** The server restarts with no memory: sessions end, histories are lost, epochs change. */
  restart(): void {
    this.dropAll();
    this.channels.forget();
  }

  // ---- Transports ----

  private onWebSocket(socket: FakeWebSocket): void {
    this.sockets.push(socket);
    const behaviour = this.down ? "refuse" : this.ws;
    queueMicrotask(() => {
      if (behaviour === "refuse") {
        socket.drop(1006);
        return;
      }
      socket.accept();
      if (behaviour === "silent") {
        return;
      }
      const session = this.createSession("websocket", socket, null);
      socket.onSend = (data) => this.handleBatch(session, data);
      this.welcome(session);
    });
  }

  private onEventSource(source: FakeEventSource): void {
    this.eventSources.push(source);
    const behaviour = this.down ? "refuse" : this.sse;
    queueMicrotask(() => {
      if (behaviour === "refuse") {
        source.fail();
        return;
      }
      source.open();
      if (behaviour === "silent") {
        return;
      }
      const session = this.createSession("sse", null, source);
      this.welcome(session);
    });
  }

  private negotiate(): Response {
    if (this.negotiateStatus !== 200) {
      return json(this.negotiateStatus, { error: { code: this.negotiateStatus === 403 ? "forbidden" : "unavailable", message: "Refused by the test." } });
    }
    return json(200, {
      version: 1,
      node: this.node,
      transports: this.transports,
      encodings: ["json"],
      ping: this.ping,
      pollTimeout: this.pollTimeout,
      maxMessageSize: this.maxMessageSize,
    });
  }

  private async handlePoll(request: HttpRequestRecord, signal: AbortSignal | null): Promise<Response> {
    const id = request.query.get("session");
    if (id === null) {
      if (this.poll === "refuse") {
        return json(503, { error: { code: "unavailable", message: "Long-polling refused by the test." } });
      }
      if (this.poll === "silent") {
        return new Promise<Response>((_, reject) => signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      }
      const session = this.createSession("long-polling", null, null);
      this.welcome(session);
      return this.answerPoll(session, 0);
    }
    const session = this.sessions.find((candidate) => candidate.id === id);
    if (session === undefined || (session.closed && session.pollFrames.every((frame) => frame.number <= session.lastSent))) {
      return json(404, { error: { code: "session_not_found", message: "No such session." } });
    }
    const ack = Number(request.query.get("ack"));
    if (!Number.isInteger(ack) || ack < session.acked || ack > session.lastSent) {
      return json(400, { error: { code: "bad_request", message: `ack ${ack} is outside ${session.acked}..${session.lastSent}.` } });
    }
    session.acked = ack;
    while (session.pollFrames.length > 0 && session.pollFrames[0]!.number <= ack) {
      session.pollFrames.shift();
    }
    if (session.pollFrames.length === 0 && !session.closed) {
      // Hold the poll until a frame is queued or the poll timeout passes.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), this.pollTimeout * 1000);
        const done = (): void => {
          clearTimeout(timer);
          session.wakePoll = null;
          resolve();
        };
        session.wakePoll = done;
        signal?.addEventListener("abort", done);
      });
      if (signal?.aborted) {
        throw new DOMException("The poll was aborted.", "AbortError");
      }
      if (session.dropped) {
        throw new TypeError("fetch failed (the server went away)");
      }
    }
    return this.answerPoll(session, ack);
  }

  private answerPoll(session: FakeSession, ack: number): Response {
    const frames = session.pollFrames.filter((frame) => frame.number > ack);
    session.lastSent = Math.max(session.lastSent, frames[frames.length - 1]?.number ?? ack);
    if (this.losePollResponses > 0) {
      this.losePollResponses--;
      throw new TypeError("fetch failed (the test lost this poll's response)");
    }
    return new Response(frames.map((frame) => frame.text).join("\n"), { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }

  private handleSend(request: HttpRequestRecord): Response {
    if (this.failSends > 0) {
      this.failSends--;
      throw new TypeError("fetch failed (the test failed this send)");
    }
    const session = this.sessions.find((candidate) => candidate.id === request.query.get("session"));
    if (session === undefined || session.closed) {
      return json(404, { error: { code: "session_not_found", message: "No such session." } });
    }
    this.handleBatch(session, request.body);
    return new Response(null, { status: 204 });
  }

  // ---- Protocol ----

  private createSession(transport: FakeSession["transport"], socket: FakeWebSocket | null, source: FakeEventSource | null): FakeSession {
    const session = new FakeSession(this, `${this.node}.s${++this.sessionCount}`, transport, socket, source);
    this.sessions.push(session);
    return session;
  }

  /** The session's first frames: `connected`, then a `subscribed` for each channel of the connect hook. */
  private welcome(session: FakeSession): void {
    session.send(this.connected(session));
    if (this.closeNewSessions !== null) {
      session.disconnect(this.closeNewSessions.code, this.closeNewSessions.reason, true);
      return;
    }
    for (const channel of this.connectChannels) {
      this.channels.serverSubscribe(session, channel);
    }
  }

  private connected(session: FakeSession): Frame {
    return {
      type: "connected",
      session: session.id,
      node: this.node,
      version: 1,
      transport: session.transport,
      ping: session.transport === "long-polling" ? 0 : this.ping,
    };
  }

  private handleBatch(session: FakeSession, batch: string): void {
    for (const line of batch.split("\n")) {
      if (line.trim() === "" || session.closed) {
        continue;
      }
      const frame = JSON.parse(line) as Frame;
      session.received.push(frame);
      if (this.intercept?.(session, frame) === true) {
        continue;
      }
      this.channels.handle(session, frame);
    }
  }

  /** Handles a client frame as the server would (for a frame a test intercepted and now lets through). */
  process(session: FakeSession, frame: Frame): void {
    this.channels.handle(session, frame);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
