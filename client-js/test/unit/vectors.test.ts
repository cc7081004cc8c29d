// The protocol's facts in protocol/ (read by the server's tests and the .NET client's too) held
// against this client: its error codes and their retry rules, its disconnect rule, the bytes of the
// frames it sends, what it accepts and refuses of what the server sends, and negotiate answers.
// A change to a vector that this client does not follow fails here.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { binaryBytes, fromBase64 } from "../../src/encoding.js";
import {
  CLOSE,
  PING,
  PONG,
  historyRequest,
  presenceRequest,
  publishRequest,
  requestFrame,
  subscribeRequest,
  unsubscribeRequest,
} from "../../src/frames.js";
import type { ClientFrame, ClientRequest, DecodedFrame, SimpleClientFrame } from "../../src/frames.js";
import { JsonCodec, parseFrame } from "../../src/JsonCodec.js";
import { MessagePackCodec } from "../../src/MessagePackCodec.js";
import { parseNegotiate } from "../../src/negotiate.js";
import { ErrorCodes, PubSubError } from "../../src/PubSubError.js";
import { knownCodes, reconnectsAfter, retryRule } from "../../src/rules.js";
import type { StateChange } from "../../src/types.js";
import { connected, pass, until, useFakeClock } from "./helpers.js";

/** protocol/ at the repository root: the folder above this one that holds PubSub.sln (protocol/README.md). */
function protocolFolder(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "PubSub.sln"))) {
      return join(dir, "protocol");
    }
    if (dirname(dir) === dir) {
      throw new Error("No PubSub.sln above the test folder: cannot find protocol/.");
    }
  }
}

function vectors<T>(file: string): T {
  return JSON.parse(readFileSync(join(protocolFolder(), file), "utf8")) as T;
}

interface ErrorCodeVector { code: string; from: "server" | "client"; http?: number; retry: string }
interface DisconnectVectors {
  reconnect: { from: number; to: number };
  final: { from: number; to: number };
  codes: { code: number; reconnect: boolean }[];
  examples: { code: number; reconnect: boolean }[];
}
type Fields = Record<string, unknown>;
interface ClientFrameVectors { valid: { name: string; frame: Fields; parsed: Fields }[] }
interface ServerFrameVectors { valid: { name: string; text: string }[]; invalid: { name: string; text: string }[]; ignored: { name: string; text: string }[] }
interface NegotiateVectors { default: Fields; examples: { name: string; body: Fields }[] }

beforeEach(useFakeClock);
afterEach(() => vi.useRealTimers());

const errorCodes = vectors<{ codes: ErrorCodeVector[] }>("error-codes.json").codes;
const disconnects = vectors<DisconnectVectors>("disconnect-codes.json");
const clientFrames = vectors<ClientFrameVectors>("frames/client.json");
const serverFrames = vectors<ServerFrameVectors>("frames/server.json");
const negotiateAnswers = vectors<NegotiateVectors>("negotiate.json");

/** A client connected to a fake server, with the client's error events collected. */
async function connectedClient() {
  const { server, client } = await connected();
  const errors: PubSubError[] = [];
  client.on("error", (error) => errors.push(error));
  return { server, client, errors };
}

/**
 * Codes this client raises that error-codes.json does not list. Kept here by name so that a new
 * client code fails the test until the vectors (or this list, with a reason) have it.
 */
const NOT_IN_VECTORS = ["queue_full", "disconnected"];

describe("error-codes.json", () => {
  it.each(errorCodes.map((entry) => [entry.code, entry.from, entry.retry] as const))(
    "%s (from the %s) has the client's retry rule '%s'", (code, _from, retry) => {
      expect(retryRule(code)).toBe(retry);
      expect(Object.values(ErrorCodes)).toContain(code);
    });

  it("knows no code the vectors lack, beyond the ones named here", () => {
    const listed = new Set(errorCodes.map((entry) => entry.code));
    expect(knownCodes().filter((code) => !listed.has(code)).sort()).toEqual([...NOT_IN_VECTORS].sort());
    expect(Object.values(ErrorCodes).filter((code) => !listed.has(code)).sort()).toEqual([...NOT_IN_VECTORS].sort());
  });

  describe("a refused subscribe follows the code's rule", () => {
    const serverCodes = errorCodes.filter((entry) => entry.from === "server");

    it.each(serverCodes.map((entry) => [entry.code, entry.retry] as const))("%s: %s", async (code, retry) => {
      const { server, client } = await connectedClient();
      let refusals = 1;
      server.intercept = (session, frame) => {
        if (frame.type === "subscribe" && refusals > 0) {
          refusals--;
          session.send({ type: "reply", id: frame.id, error: { code, message: `Refused with ${code}.` } });
          return true;
        }
        return false;
      };
      const sub = client.subscribe("chat/a");
      const errors: string[] = [];
      sub.on("error", (error) => errors.push(error.code));
      await until(() => errors.length === 1);

      if (retry === "never") {
        // The subscription ends with the server's error.
        expect(sub.state).toBe("unsubscribed");
        expect(client.getSubscription("chat/a")).toBeUndefined();
        await expect(sub.ready()).rejects.toMatchObject({ code: "not_subscribed" });
      } else {
        // It stays and is subscribed again: after a backoff on the same session ('later'), or on a new session ('reconnect').
        await until(() => sub.state === "subscribed");
        expect(client.getSubscription("chat/a")).toBe(sub);
        expect(server.sockets).toHaveLength(retry === "reconnect" ? 2 : 1);
      }
      client.close();
    });
  });
});

describe("disconnect-codes.json", () => {
  it.each([...disconnects.codes, ...disconnects.examples].map((entry) => [entry.code, entry.reconnect] as const))(
    "code %i: reconnect %s", (code, reconnect) => {
      expect(reconnectsAfter(code)).toBe(reconnect);
    });

  it("holds for the ends of both ranges", () => {
    for (const code of [disconnects.reconnect.from, disconnects.reconnect.to]) {
      expect(reconnectsAfter(code)).toBe(true);
    }
    for (const code of [disconnects.final.from, disconnects.final.to]) {
      expect(reconnectsAfter(code)).toBe(false);
    }
  });

  it.each(disconnects.codes.map((entry) => [entry.code, entry.reconnect] as const))(
    "after a disconnect frame with code %i the client reconnects: %s", async (code, reconnect) => {
      const { server, client } = await connectedClient();
      const states: StateChange[] = [];
      client.on("state", (change) => states.push(change));

      server.session().disconnect(code, "Vector.", reconnect);
      await until(() => (reconnect ? client.state === "connected" && server.sockets.length === 2 : client.state === "closed"));

      expect(states[0]!.state).toBe(reconnect ? "reconnecting" : "closed");
      expect(states[0]!.error!.disconnectCode).toBe(code);
      expect(states[0]!.error!.terminal).toBe(!reconnect);
      client.close();
    });
});

/** How the client builds each frame it sends, from the fields of the vector (never from its text). */
const builders: Record<string, (fields: Fields) => ClientRequest | null> = {
  subscribe: (f) => subscribeRequest(f.channel as string, (f.since as { epoch: string; offset: number } | undefined) ?? null),
  unsubscribe: (f) => unsubscribeRequest(f.channel as string),
  publish: (f) => publishRequest(f.channel as string, typeof f.binary === "string" ? fromBase64(f.binary) : f.data, f.idempotencyKey as string | undefined),
  history: (f) => historyRequest(f.channel as string, {
    since: f.since as { epoch: string; offset: number } | undefined,
    limit: f.limit as number | undefined,
  }),
  presence: (f) => presenceRequest("presence", f.channel as string),
  presence_stats: (f) => presenceRequest("presence_stats", f.channel as string),
  ping: () => ({ type: "ping" }),
};
const constants: Record<string, SimpleClientFrame> = { pong: PONG, close: CLOSE };

describe("frames/client.json", () => {
  // Vectors whose frame carries fields the server ignores test the server's tolerance; a client never sends them.
  const sent = clientFrames.valid.filter((vector) => JSON.stringify(vector.frame) === JSON.stringify(vector.parsed));

  it("covers every frame type the client sends", () => {
    const types = new Set(sent.map((vector) => vector.frame.type as string));
    expect([...types].sort()).toEqual([...Object.keys(builders), ...Object.keys(constants)].sort());
  });

  it.each(sent.map((vector) => [vector.name, vector] as const))("%s, byte for byte", (_name, vector) => {
    const { type, id, ...fields } = vector.frame as Fields & { type: string; id?: number };
    const expected = JSON.stringify(vector.frame);
    const json = JsonCodec.instance;
    if (id === undefined) {
      expect(json.encode(constants[type]!)).toBe(expected);
      return;
    }
    expect(json.encode(requestFrame(builders[type]!(fields)!, id))).toBe(expected);
  });
});

describe("frames/server.json", () => {
  it.each(serverFrames.valid.map((vector) => [vector.name, vector.text] as const))("parses %s", (_name, text) => {
    expect(parseFrame(text)).toEqual(JSON.parse(text));
  });

  it.each(serverFrames.invalid.map((vector) => [vector.name, vector.text] as const))("refuses %s as bad_frame", (_name, text) => {
    expect(() => parseFrame(text)).toThrowError(PubSubError);
    expect(() => parseFrame(text)).toThrowError(expect.objectContaining({ code: "bad_frame" }) as Error);
  });

  it.each(serverFrames.invalid.map((vector) => [vector.name, vector.text] as const))(
    "a connected client reports %s as bad_frame", async (_name, text) => {
      const { server, client, errors } = await connectedClient();

      server.session().send(text);
      await until(() => errors.length === 1);

      expect(errors[0]!.code).toBe("bad_frame");
      client.close();
    });

  it.each(serverFrames.ignored.map((vector) => [vector.name, vector.text] as const))("ignores %s", async (_name, text) => {
    const { server, client, errors } = await connectedClient();

    server.session().send(text);
    // A ping behind it proves the frame was read: the pong comes back only after it.
    server.session().send({ type: "ping" });
    await until(() => server.session().received.some((frame) => frame.type === "pong"));
    await pass(0);

    expect(errors).toEqual([]);
    expect(client.state).toBe("connected");
    client.close();
  });
});

interface MessagePackVector { name: string; json: string; hex: string }
interface MessagePackVectors {
  server: MessagePackVector[];
  client: MessagePackVector[];
  batches: { name: string; hex: string; frames: string[] }[];
  serverInvalid: { name: string; hex: string }[];
  ignored: { name: string; hex: string }[];
}
const msgpack = vectors<MessagePackVectors>("frames/msgpack.json");
const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
const hexOf = (payload: string | Uint8Array): string => Buffer.from(payload as Uint8Array).toString("hex");

/** A decoded frame with every `binary` as bytes: base64 text in JSON, bin in MessagePack, the same publication. */
function withBytes(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withBytes);
  }
  if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) =>
      [key, key === "binary" && (typeof field === "string" || field instanceof Uint8Array) ? binaryBytes(field) : withBytes(field)]));
  }
  return value;
}

/** The one frame of a batch, which must have decoded. */
function only(frames: DecodedFrame[]): unknown {
  expect(frames).toHaveLength(1);
  expect(frames[0]).not.toBeInstanceOf(PubSubError);
  return frames[0];
}

describe("frames/msgpack.json", () => {
  const codec = MessagePackCodec.instance;

  it.each(msgpack.server.map((vector) => [vector.name, vector] as const))("decodes %s to what its JSON decodes to", (_name, vector) => {
    const decoded = only(codec.decode(bytes(vector.hex)));
    expect(withBytes(decoded)).toEqual(withBytes(only(JsonCodec.instance.decode(vector.json))));
  });

  it("gives a binary publication its bytes as they came, no base64", () => {
    const vector = msgpack.server.find((candidate) => candidate.name === "message with bytes")!;
    expect((only(codec.decode(bytes(vector.hex))) as { binary: unknown }).binary).toEqual(Uint8Array.of(0, 1, 2, 3));
  });

  it.each(msgpack.serverInvalid.map((vector) => [vector.name, vector.hex] as const))("refuses %s as bad_frame", (_name, hex) => {
    const frames = codec.decode(bytes(hex));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toBeInstanceOf(PubSubError);
    expect((frames[0] as PubSubError).code).toBe("bad_frame");
  });

  it("refuses a text message on pubsub.msgpack as bad_frame", () => {
    expect(codec.decode('{"type":"ping"}')).toEqual([expect.objectContaining({ code: "bad_frame" })]);
  });

  it("reads every frame of a batch, and stops at a value that does not decode", () => {
    const ping = msgpack.server.find((vector) => vector.name === "ping")!.hex;
    const truncated = msgpack.serverInvalid.find((vector) => vector.name === "truncated")!.hex;
    expect(codec.decode(bytes(ping + ping))).toEqual([{ type: "ping" }, { type: "ping" }]);
    const frames = codec.decode(bytes(ping + truncated));
    expect(frames[0]).toEqual({ type: "ping" });
    expect(frames[1]).toMatchObject({ code: "bad_frame" });
    expect(frames).toHaveLength(2);
  });

  it.each(msgpack.ignored.map((vector) => [vector.name, vector.hex] as const))("passes %s on as a frame of a type the client ignores", (_name, hex) => {
    const frame = only(codec.decode(bytes(hex))) as { type: string };
    expect(["connected", "reply", "error", "message", "subscribed", "unsubscribed", "ping", "pong", "disconnect"]).not.toContain(frame.type);
  });

  /** The frame a client vector describes, as this client builds it from the application's call. */
  function build(json: string): ClientFrame {
    const { type, id, ...fields } = JSON.parse(json) as Fields & { type: string; id?: number };
    if (id === undefined) {
      return ({ ping: PING, ...constants } as Record<string, SimpleClientFrame>)[type]!;
    }
    // A ping with an id, and the frame with fields a newer client may send: as they are.
    const builder = type === "ping" ? undefined : builders[type];
    return builder === undefined ? { ...JSON.parse(json) } as ClientFrame : requestFrame(builder(fields)!, id);
  }

  it.each(msgpack.client.map((vector) => [vector.name, vector] as const))("encodes %s byte for byte", (_name, vector) => {
    expect(hexOf(codec.encode(build(vector.json)))).toBe(vector.hex);
    // And the same frame in JSON is its JSON counterpart.
    if (!vector.name.includes("unknown fields")) {
      expect(JsonCodec.instance.encode(build(vector.json))).toBe(vector.json);
    }
  });

  it.each(msgpack.batches.map((vector) => [vector.name, vector] as const))("joins %s into one message", (_name, vector) => {
    const batch = codec.join(vector.frames.map((json) => codec.encode(build(json))));
    expect(hexOf(batch)).toBe(vector.hex);
  });
});

describe("negotiate.json", () => {
  const answers = [["default", negotiateAnswers.default] as const, ...negotiateAnswers.examples.map((example) => [example.name, example.body] as const)];

  it.each(answers)("reads %s", (_name, body) => {
    const info = parseNegotiate(body);
    expect(info).toEqual({
      version: body.version,
      node: body.node,
      transports: body.transports,
      encodings: body.encodings,
      ping: body.ping,
      pollTimeout: body.pollTimeout,
      maxMessageSize: body.maxMessageSize,
    });
  });

  it("takes no answer that is not an object (a proxy's), and lets the client try again", () => {
    for (const body of [null, [negotiateAnswers.default], "ok"]) {
      expect(() => parseNegotiate(body)).toThrowError(expect.objectContaining({ code: "bad_frame", terminal: false }) as Error);
    }
  });

  it("refuses another protocol version for good", () => {
    expect(() => parseNegotiate({ ...negotiateAnswers.default, version: 2 })).toThrowError(expect.objectContaining({ terminal: true }) as Error);
  });
});
