import type { MessageFrame } from "./frames.js";
import { PubSubError } from "./PubSubError.js";
import type { HistoryOptions, HistoryResult, StreamPosition } from "./types.js";

/** Reads a page of a channel's history (PubSubClient.history). */
export type HistoryReader = (channel: string, options: HistoryOptions) => Promise<HistoryResult>;

/** What a gap fill found: the missed publications, in order; or that history no longer holds them all. */
export type GapFillOutcome = { readonly kind: "filled"; readonly messages: readonly MessageFrame[] } | { readonly kind: "missed" };

/**
 * Closes the gap of a subscription that the server made again after a reconnect, without
 * recovery (its connect hook runs again and subscribes at the channel's latest position,
 * docs/protocol.md section 2.5): reads the channel's history from the client's last position up
 * to the `subscribed` frame's, page by page, while the live messages that arrive meanwhile wait
 * in `buffered`. The subscription set delivers the history, then the buffer; de-duplication by
 * position drops the overlap.
 */
export class GapFill {
  /** Publications per history page: the server's default, well within its 1–1000 bounds. */
  static readonly PageSize = 100;

  /** Live messages that came after the `subscribed` frame, held until the history is delivered. */
  readonly buffered: MessageFrame[] = [];

  constructor(
    readonly channel: string,
    /** The client's last position: the gap starts after it. */
    readonly from: StreamPosition,
    /** The `subscribed` frame's position: the gap ends with it (same epoch, later offset). */
    readonly to: StreamPosition,
  ) {}

  /**
   * The publications after `from` up to `to` at least, oldest first; `missed` when history no
   * longer holds them all (the oldest expired, the epoch changed) or the read was refused (a
   * server-made subscription may lack the rights a history read needs). Rejects with
   * `connection_lost` or `closed` when the connection went before the read finished: the
   * position did not move, so the next `subscribed` frame starts the fill again.
   */
  async read(history: HistoryReader): Promise<GapFillOutcome> {
    const messages: MessageFrame[] = [];
    let last = this.from;
    while (last.offset < this.to.offset) {
      let page: HistoryResult;
      try {
        page = await history(this.channel, { since: last, limit: GapFill.PageSize });
      } catch (error) {
        if (error instanceof PubSubError && (error.code === "connection_lost" || error.code === "closed")) {
          throw error;
        }
        return { kind: "missed" };
      }
      if (page.epoch !== this.from.epoch) {
        return { kind: "missed" };
      }
      for (const publication of page.publications) {
        if (publication.offset !== last.offset + 1) {
          // The publications right after `last` expired: history cannot close this gap.
          return { kind: "missed" };
        }
        const payload = publication.data instanceof Uint8Array ? { binary: publication.data } : { data: publication.data };
        messages.push({ type: "message", channel: this.channel, epoch: page.epoch, offset: publication.offset, ...payload });
        last = { epoch: page.epoch, offset: publication.offset };
      }
      if (page.publications.length < GapFill.PageSize && last.offset < this.to.offset) {
        // A page that is not full is the end of history, and it ended short of the gap's end.
        return { kind: "missed" };
      }
    }
    return { kind: "filled", messages };
  }
}
