// GapFill on its own, with a history reader made up by each test: what ends a fill as `missed`,
// and what makes it give up so that the next `subscribed` frame starts it again.

import { describe, expect, it } from "vitest";
import { GapFill } from "../../src/GapFill.js";
import type { HistoryReader } from "../../src/GapFill.js";
import { PubSubError } from "../../src/PubSubError.js";
import type { HistoryOptions, HistoryResult } from "../../src/types.js";

/** A reader over offsets `oldest`..`latest` of epoch `e1` (data = offset), recording what it was asked. */
function historyOf(oldest: number, latest: number, asked: HistoryOptions[] = []): HistoryReader {
  return async (_channel, options) => {
    asked.push(options);
    const after = Math.max(options.since!.offset + 1, oldest);
    const publications = [];
    for (let offset = after; offset <= latest && publications.length < options.limit!; offset++) {
      publications.push({ offset, data: offset });
    }
    return { epoch: "e1", offset: latest, publications } satisfies HistoryResult;
  };
}

const fill = (from: number, to: number) => new GapFill("chat/a", { epoch: "e1", offset: from }, { epoch: "e1", offset: to });

describe("GapFill", () => {
  it("reads from after its start to its end, in pages of 100, as message frames", async () => {
    const asked: HistoryOptions[] = [];

    const outcome = await fill(5, 210).read(historyOf(1, 215, asked));

    expect(asked.map((options) => [options.since!.offset, options.limit])).toEqual([[5, 100], [105, 100], [205, 100]]);
    expect(outcome.kind).toBe("filled");
    const messages = outcome.kind === "filled" ? outcome.messages : [];
    expect(messages.map((message) => message.offset)).toEqual(Array.from({ length: 210 }, (_, i) => i + 6));
    expect(messages[0]).toEqual({ type: "message", channel: "chat/a", epoch: "e1", offset: 6, data: 6 });
  });

  it("keeps bytes as a binary publication", async () => {
    const bytes = new Uint8Array([1, 2]);
    const outcome = await fill(0, 1).read(async () => ({ epoch: "e1", offset: 1, publications: [{ offset: 1, data: bytes }] }));

    expect(outcome).toEqual({ kind: "filled", messages: [{ type: "message", channel: "chat/a", epoch: "e1", offset: 1, binary: bytes }] });
  });

  it.each([
    ["the publications right after the start expired", historyOf(8, 20)],
    ["history ends short of the end", historyOf(1, 8)],
    ["the epoch changed", async () => ({ epoch: "e2", offset: 3, publications: [] })],
    ["the read is refused (epoch_mismatch)", async () => Promise.reject(new PubSubError("epoch_mismatch", "No."))],
    ["the read is refused (forbidden)", async () => Promise.reject(new PubSubError("forbidden", "No."))],
  ] as [string, HistoryReader][])("is missed when %s", async (_name, reader) => {
    expect(await fill(5, 10).read(reader)).toEqual({ kind: "missed" });
  });

  it.each(["connection_lost", "closed"])("gives up with %s, which the next subscribed frame recovers from", async (code) => {
    const read = fill(5, 10).read(async () => Promise.reject(new PubSubError(code, "Gone.")));

    await expect(read).rejects.toMatchObject({ code });
  });
});
