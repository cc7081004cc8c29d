import type { Connection } from "./Connection.js";
import { asPubSubError } from "./http.js";
import { PubSubError } from "./PubSubError.js";
import type { TransportName, TransportStorage } from "./types.js";

/**
 * Decides which transports to try, in which order, and how long each gets, the way SockJS does:
 * the client's order, minus what the server does not offer, with the transport that worked last
 * time (remembered in sessionStorage) first, so a page behind a proxy that breaks WebSocket does
 * not pay the WebSocket timeout on every load. What is remembered is forgotten when it fails, and
 * replaced when a better transport works again (the upgrade probe, TransportUpgrade).
 */
export class TransportSelector {
  /** Without a measured round trip (negotiate off), each attempt gets this long (ms). */
  static readonly DefaultTimeout = 5000;
  /**
   * Floor of a derived timeout (ms). The SockJS formula gives ~0.6 s on a LAN, but a loaded server
   * (a JIT-cold node, a busy machine) can take longer than that to answer its first WebSocket or
   * stream, and a false fallback costs a session on a worse transport until the next upgrade
   * probe. A blackholed WebSocket costs this wait once per browser session (the fallback is
   * remembered), so the floor errs long.
   */
  static readonly MinTimeout = 2000;
  static readonly MaxTimeout = 10_000;

  /** Round trips each transport needs to deliver `connected`: the upgrade and the first message; the stream's headers and first event; one poll. */
  private static readonly RoundTrips: Record<TransportName, number> = { websocket: 2, sse: 2, "long-polling": 1 };

  constructor(
    private readonly transports: readonly TransportName[],
    private readonly storage: TransportStorage | null,
    private readonly key: string,
  ) {}

  /** The transports to try, in order; `offered` is negotiate's list (null when negotiation is off). */
  order(offered: readonly string[] | null): TransportName[] {
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
  timeout(name: TransportName, rtt: number | null, fixed: number | undefined): number {
    if (fixed !== undefined) {
      return fixed;
    }
    if (rtt === null) {
      return TransportSelector.DefaultTimeout;
    }
    const rto = rtt > 100 ? 4 * rtt : 300 + rtt;
    const derived = rto * TransportSelector.RoundTrips[name];
    return Math.min(TransportSelector.MaxTimeout, Math.max(TransportSelector.MinTimeout, derived));
  }

  remembered(): TransportName | null {
    try {
      const value = this.storage?.getItem(this.key) ?? null;
      return this.transports.includes(value as TransportName) ? (value as TransportName) : null;
    } catch {
      return null;
    }
  }

  succeeded(name: TransportName): void {
    try {
      this.storage?.setItem(this.key, name);
    } catch {
      // Storage can be full or forbidden (private windows, sandboxed frames); remembering is only an optimisation.
    }
  }

  failed(name: TransportName): void {
    try {
      if (this.storage?.getItem(this.key) === name) {
        this.storage.removeItem(this.key);
      }
    } catch {
      // As above.
    }
  }

  /**
   * Tries the transports of `order` one after the other and resolves with the first connection
   * that delivers `connected` (remembering its transport). Each failure goes to `onFailure` (when
   * there is another transport to try) and forgets the transport if it was the remembered one.
   * Rejects with `transport_failed` listing every failure, or `closed` once `cancelled()`.
   */
  async connect(
    order: readonly TransportName[],
    open: (name: TransportName) => Connection,
    cancelled: () => boolean,
    onFailure: (error: PubSubError) => void,
  ): Promise<Connection> {
    const failures: string[] = [];
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
  static defaultStorage(): TransportStorage | null {
    try {
      return (globalThis as { sessionStorage?: TransportStorage }).sessionStorage ?? null;
    } catch {
      return null;
    }
  }
}
