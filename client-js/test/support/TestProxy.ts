// An HTTP and WebSocket proxy on 127.0.0.1 between the tests' clients and a Host, that can break
// the network on demand: drop every connection at once, or treat WebSocket upgrades as a hostile
// proxy would (complete the handshake and then pass nothing; or refuse them).

import { createHash } from "node:crypto";
import { createServer, request } from "node:http";
import type { ClientRequest, IncomingMessage, Server } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export type UpgradeMode = "pass" | "blackhole" | "refuse";

export class TestProxy {
  /** What happens to WebSocket upgrade requests. */
  webSocket: UpgradeMode = "pass";
  /** When set, each request or upgrade goes to the next of these in turn (a balancer with no affinity), instead of `target`. */
  rotation: URL[] = [];
  private turn = 0;
  /** Every open connection, on both sides, and every request to the target. */
  private readonly open = new Set<Duplex | ClientRequest>();

  private constructor(
    private readonly server: Server,
    /** Where new connections go; change it to fail over to another node, as a load balancer would. */
    public target: URL,
  ) {}

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get pubsub(): string {
    return `${this.url}/pubsub`;
  }

  static async start(target: string): Promise<TestProxy> {
    const server = createServer();
    const proxy = new TestProxy(server, new URL(target));
    server.on("connection", (socket) => proxy.track(socket));
    server.on("request", (req, res) => {
      const target = proxy.next();
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          // Server-Sent Events must not wait in a buffer.
          res.flushHeaders();
          answer.pipe(res);
        },
      );
      proxy.track(upstream);
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => proxy.upgrade(req, socket, head));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** Cuts every open connection, both ways, as a network failure would. */
  dropAll(): void {
    for (const item of [...this.open]) {
      item.destroy();
    }
    this.open.clear();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.track(socket);
    socket.on("error", () => undefined);
    if (this.webSocket === "refuse") {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    if (this.webSocket === "blackhole") {
      // A proxy that says yes to the upgrade and then passes nothing: the client's socket opens,
      // and the 'connected' frame never comes.
      const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: pubsub.json\r\n\r\n`);
      socket.resume();
      return;
    }
    const target = this.next();
    const upstream = connect(Number(target.port), target.hostname);
    this.track(upstream);
    upstream.on("error", () => socket.destroy());
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
    upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n`);
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      upstream.write(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
    }
    upstream.write("\r\n");
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  }

  private next(): URL {
    return this.rotation.length === 0 ? this.target : this.rotation[this.turn++ % this.rotation.length]!;
  }

  private track(item: Duplex | ClientRequest): void {
    this.open.add(item);
    item.once("close", () => this.open.delete(item));
  }
}
