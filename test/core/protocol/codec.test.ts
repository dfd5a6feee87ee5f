import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { isSltError } from "../../../src/core/errors.ts";
import {
  flipBit,
  fullMask,
  getBit,
  maskHash,
  masksEqual,
  maskToBytes,
  randomMask,
  zeros,
} from "../../../src/core/mask.ts";
import {
  CLOSE_CODES,
  closeFrameFor,
  type DecodeContext,
  type DecodeResult,
  decode,
  encode,
  FRAME_OVERHEAD_BYTES,
  MAX_SNAPSHOT_BYTES,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  MIGRANT_OVERHEAD_BYTES,
  makeMessage,
  maxFrameBytes,
  maxSnapshotBytes,
  R_AUTH_FAILED,
  R_BAD_FIELD,
  R_BAD_MSGPACK,
  R_BAD_TAG,
  R_BAD_VERSION,
  R_EXTRA_FIELD,
  R_FRAME_TOO_LARGE,
  R_GENOME_LENGTH,
  R_INTERNAL,
  R_MASK_BYTES,
  R_MASK_HASH,
  R_MASK_PADDING,
  R_MASK_ZEROS,
  R_MISSING_FIELD,
  R_NON_FINITE,
  R_NOT_A_MAP,
  R_NOT_AUTHENTICATED,
  R_OUT_OF_RANGE,
  R_REPLAY,
  R_STRING_TOO_LONG,
  R_TIMEOUT,
  R_TOO_MANY_MIGRANTS,
  R_UNEXPECTED_TYPE,
  R_UNKNOWN_TYPE,
  R_WRONG_RUN,
  R_WRONG_SENDER,
  REASON_CODES,
  type ReasonCode,
} from "../../../src/core/protocol/index.ts";
import { Rng } from "../../../src/core/rng.ts";
import {
  BODIES,
  ctx,
  GENOME,
  header,
  MAX_MIGRANTS,
  maskArb,
  messageArb,
  migrantArb,
  migrantOf,
  pack,
  patternMask,
  RUN,
  rawOf,
  snapshotOf,
  valid,
} from "./fixtures.ts";

/** decode, failing the test if it throws (it never may). */
function safeDecode(frame: Uint8Array, c: DecodeContext): DecodeResult {
  let r: DecodeResult | undefined;
  expect(() => {
    r = decode(frame, c);
  }).not.toThrow();
  return r!;
}

function expectRefused(frame: Uint8Array, c: DecodeContext, code: ReasonCode, reason?: RegExp): void {
  const r = safeDecode(frame, c);
  if (r.ok) throw new Error(`expected ${code}, but the frame decoded as a ${r.message.type} message`);
  expect(r.code).toBe(code);
  if (reason) expect(r.reason).toMatch(reason);
}

const MASK_TYPES = new Set<MessageType>(["migrants", "ticket", "assign"]);

describe("protocol codec: round trips", () => {
  it("every message type survives encode → decode unchanged (fixed examples)", () => {
    for (const type of MESSAGE_TYPES) {
      const m = valid(type);
      const r = safeDecode(encode(m), ctx());
      expect(r.ok, `${type}: ${r.ok ? "" : `${r.code}: ${r.reason}`}`).toBe(true);
      if (r.ok) expect(r.message).toEqual(m);
    }
  });

  for (const type of MESSAGE_TYPES) {
    it(`${type}: random messages round-trip (property)`, () => {
      const genome = MASK_TYPES.has(type) ? fc.integer({ min: 1, max: 5000 }) : fc.constant(GENOME);
      fc.assert(
        fc.property(
          genome.chain((g) => fc.tuple(fc.constant(g), messageArb(type, g))),
          ([g, m]) => {
            const r = decode(encode(m), { runId: m.runId, genomeLength: g, maxMigrants: MAX_MIGRANTS });
            if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
            expect(r.message).toEqual(m);
          },
        ),
        { numRuns: MASK_TYPES.has(type) ? 60 : 100 },
      );
    });
  }

  it("migrants of random genome lengths 1..5000 keep mask, hash and metrics exactly", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5000 })
          .chain((g) =>
            fc.tuple(
              fc.constant(g),
              fc.array(migrantArb(maskArb(g, g)), { minLength: 1, maxLength: MAX_MIGRANTS }),
            ),
          ),
        ([g, migrants]) => {
          const frame = encode(makeMessage("migrants", header(), { migrants }));
          const r = decode(frame, ctx({ genomeLength: g }));
          if (!r.ok) throw new Error(`${r.code}: ${r.reason}`);
          if (r.message.type !== "migrants") throw new Error("wrong type");
          const got = r.message.body.migrants;
          expect(got).toHaveLength(migrants.length);
          for (const [i, m] of migrants.entries()) {
            expect(masksEqual(got[i].mask, m.mask)).toBe(true);
            expect(got[i].hash).toBe(maskHash(m.mask));
            expect(Object.is(got[i].accuracy, m.accuracy)).toBe(true);
            expect(Object.is(got[i].loss, m.loss)).toBe(true);
            expect(got[i].zeros).toBe(m.zeros);
          }
        },
      ),
    );
  });

  it("maxFrameBytes bounds every migrants message: per-migrant cost ≤ packed bytes + MIGRANT_OVERHEAD_BYTES", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5000 })
          .chain((g) =>
            fc.tuple(
              fc.constant(g),
              fc.array(migrantArb(maskArb(g, g)), { minLength: 1, maxLength: MAX_MIGRANTS }),
            ),
          ),
        ([g, migrants]) => {
          const empty = encode(makeMessage("migrants", header(), { migrants: [] })).length;
          const full = encode(makeMessage("migrants", header(), { migrants })).length;
          expect(full - empty).toBeLessThanOrEqual(
            migrants.length * (Math.ceil(g / 8) + MIGRANT_OVERHEAD_BYTES),
          );
          expect(full).toBeLessThanOrEqual(maxFrameBytes(g, migrants.length));
        },
      ),
    );
    expect(maxFrameBytes(5000, 10)).toBe(FRAME_OVERHEAD_BYTES + 10 * (625 + MIGRANT_OVERHEAD_BYTES));
    expect(maxFrameBytes(5000, 0)).toBe(maxFrameBytes(5000, 1)); // a ticket still carries one mask
    expect(() => maxFrameBytes(-1, 1)).toThrow(/genome length/);
    expect(() => maxFrameBytes(10, 1.5)).toThrow(/max migrants/);
  });

  it("a received mask, nonce or proof is a copy: overwriting the frame afterwards changes nothing", () => {
    const m = valid("migrants");
    const frame = encode(m);
    const r = decode(frame, ctx());
    if (!r.ok || r.message.type !== "migrants") throw new Error("expected migrants");
    const before = r.message.body.migrants.map((x) => maskToBytes(x.mask));
    frame.fill(0xff);
    r.message.body.migrants.forEach((x, i) => {
      expect([...maskToBytes(x.mask)]).toEqual([...before[i]]);
    });
    expect(r.message).toEqual(m);

    const hello = encode(valid("hello"));
    const h = decode(hello, ctx());
    if (!h.ok || h.message.type !== "hello") throw new Error("expected hello");
    hello.fill(0);
    expect(h.message.body.nonce).toEqual(BODIES.hello.nonce);
    expect(h.message.body.nonce.buffer).not.toBe(hello.buffer);
  });

  it("encode returns a fresh frame, not a view of a shared buffer", () => {
    const a = encode(valid("heartbeat"));
    const b = encode(valid("stop"));
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(a.length);
  });

  it("encode drops undefined config members as JSON does", () => {
    const m = makeMessage("assign", header(), { ...BODIES.assign, config: { a: 1, b: undefined } as never });
    const r = decode(encode(m), ctx());
    if (!r.ok || r.message.type !== "assign") throw new Error("expected assign");
    expect(r.message.body.config).toEqual({ a: 1 });
    expect("b" in r.message.body.config).toBe(false);
  });
});

describe("protocol codec: encode refuses what a peer would refuse", () => {
  const cases: [string, () => Message, RegExp][] = [
    [
      "a NaN loss",
      () =>
        makeMessage("migrants", header(), { migrants: [migrantOf(patternMask(GENOME), 0.5, Number.NaN)] }),
      /non-finite: body\.migrants\[0\]\.loss/,
    ],
    [
      "a wrong hash",
      () =>
        makeMessage("ticket", header(), {
          ...BODIES.ticket,
          best: { ...BODIES.ticket.best, hash: "0123456789abcdef" },
        }),
      /mask-hash/,
    ],
    ["a runId with '|'", () => valid("stop", { runId: "a|b" }), /bad-field: runId/],
    ["a negative seq", () => valid("heartbeat", { seq: -1 }), /out-of-range: seq/],
    ["an unknown type", () => ({ ...valid("stop"), type: "gossip" }) as unknown as Message, /unknown-type/],
    [
      "a config with Infinity",
      () => makeMessage("assign", header(), { ...BODIES.assign, config: { x: Number.POSITIVE_INFINITY } }),
      /non-finite: body\.config\.x/,
    ],
    [
      "a log record of an unknown level",
      () => makeMessage("log", header(), { ...BODIES.log, level: "loud" as "warn" }),
      /bad-field: body\.level/,
    ],
    [
      "a short nonce",
      () => makeMessage("hello", header(), { ...BODIES.hello, nonce: new Uint8Array(3) }),
      /bad-field: body\.nonce must be 32 bytes/,
    ],
    [
      "a missing body",
      () => ({ ...valid("stop"), body: undefined }) as unknown as Message,
      /E_PROTOCOL|cannot encode/,
    ],
  ];
  for (const [name, make, re] of cases) {
    it(`throws SltError(E_PROTOCOL) for ${name}`, () => {
      let caught: unknown;
      try {
        encode(make());
      } catch (e) {
        caught = e;
      }
      expect(isSltError(caught, "E_PROTOCOL")).toBe(true);
      expect((caught as Error).message).toMatch(re);
    });
  }
});

// A long string of one character, for string-too-long cases.
const long = (n: number) => "x".repeat(n);

describe("protocol codec: each malformed input is refused with its own reason", () => {
  // [name, frame, context, expected code, reason pattern]
  type Case = [string, () => Uint8Array, Partial<DecodeContext>, ReasonCode, RegExp];
  const withRaw = (type: MessageType, edit: (raw: ReturnType<typeof rawOf>) => void) => () => {
    const raw = rawOf(valid(type));
    edit(raw);
    return pack(raw);
  };
  const cases: Case[] = [
    // size, checked before decoding
    [
      "oversize frame",
      () => new Uint8Array(maxFrameBytes(GENOME, MAX_MIGRANTS) + 1),
      {},
      R_FRAME_TOO_LARGE,
      /exceeds/,
    ],
    [
      "oversize but well-formed assign",
      () =>
        encode(
          makeMessage("assign", header(), {
            ...BODIES.assign,
            config: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, long(60_000)])),
          }),
        ),
      {},
      R_FRAME_TOO_LARGE,
      /limit of/,
    ],
    // msgpack
    ["truncated frame", () => encode(valid("report")).subarray(0, 40), {}, R_BAD_MSGPACK, /msgpack/],
    ["empty frame", () => new Uint8Array(0), {}, R_BAD_MSGPACK, /empty/],
    ["trailing bytes", () => Uint8Array.from([...encode(valid("stop")), 0x01]), {}, R_BAD_MSGPACK, /msgpack/],
    ["reserved byte 0xc1", () => Uint8Array.of(0xc1), {}, R_NOT_A_MAP, /map/],
    // shape
    ["an array, not a map", () => pack([1, "hello", 2]), {}, R_NOT_A_MAP, /got an array/],
    ["a number, not a map", () => pack(42), {}, R_NOT_A_MAP, /got a number/],
    [
      "version 1 (an older checkout)",
      withRaw("stop", (r) => (r.v = 1)),
      {},
      R_BAD_VERSION,
      /version 1 is not 3/,
    ],
    ["version as a string", withRaw("stop", (r) => (r.v = "1")), {}, R_BAD_VERSION, /a string/],
    ["unknown type", withRaw("stop", (r) => (r.type = "gossip")), {}, R_UNKNOWN_TYPE, /"gossip"/],
    [
      "type not accepted here",
      () => encode(valid("migrants")),
      { accept: ["hello"] },
      R_UNEXPECTED_TYPE,
      /migrants/,
    ],
    // fields
    ["missing seq", withRaw("stop", (r) => delete r.seq), {}, R_MISSING_FIELD, /^seq is missing/],
    ["missing auth proof", withRaw("auth", (r) => delete r.body.proof), {}, R_MISSING_FIELD, /body\.proof/],
    ["seq as a string", withRaw("stop", (r) => (r.seq = "8")), {}, R_BAD_FIELD, /^seq must be an integer/],
    [
      "fractional epoch",
      withRaw("stop", (r) => (r.epoch = 1.5)),
      {},
      R_BAD_FIELD,
      /^epoch must be an integer/,
    ],
    ["seq beyond 2^64 (bigint)", withRaw("stop", (r) => (r.seq = 2n ** 64n - 1n)), {}, R_BAD_FIELD, /seq/],
    ["runId with '|'", withRaw("stop", (r) => (r.runId = "run|x")), {}, R_BAD_FIELD, /runId/],
    [
      "unknown role",
      withRaw("hello", (r) => (r.body.role = "king")),
      {},
      R_BAD_FIELD,
      /body\.role must be one of/,
    ],
    [
      "short nonce",
      withRaw("hello", (r) => (r.body.nonce = r.body.nonce.subarray(1))),
      {},
      R_BAD_FIELD,
      /32 bytes/,
    ],
    ["nonce as text", withRaw("hello", (r) => (r.body.nonce = "abc")), {}, R_BAD_FIELD, /binary/],
    ["body as an array", withRaw("stop", (r) => (r.body = ["x"])), {}, R_BAD_FIELD, /^body must be a map/],
    [
      "non-string key",
      withRaw("stop", (r) => (r.body = new Map<unknown, unknown>([[1, "x"]]))),
      {},
      R_BAD_FIELD,
      /key/,
    ],
    ["migrants not a list", withRaw("migrants", (r) => (r.body.migrants = {})), {}, R_BAD_FIELD, /array/],
    [
      "uppercase hash",
      withRaw("migrants", (r) => (r.body.migrants[0].hash = r.body.migrants[0].hash.toUpperCase())),
      {},
      R_BAD_FIELD,
      /hex/,
    ],
    [
      "config '__proto__' key",
      withRaw("assign", (r) => (r.body.config = new Map([["__proto__", { polluted: true }]]))),
      { genomeLength: null },
      R_BAD_FIELD,
      /__proto__/,
    ],
    [
      "binary inside config",
      withRaw("assign", (r) => (r.body.config.blob = new Uint8Array(4))),
      {},
      R_BAD_FIELD,
      /body\.config\.blob must be a JSON value/,
    ],
    [
      "neighbour listed twice",
      withRaw("assign", (r) => r.body.outNeighbours.push(r.body.outNeighbours[0])),
      {},
      R_BAD_FIELD,
      /listed twice/,
    ],
    ["envelope extra field", withRaw("stop", (r) => (r.sig = "x")), {}, R_EXTRA_FIELD, /"sig"/],
    [
      "migrant extra field",
      withRaw("migrants", (r) => (r.body.migrants[1].origin = "initial")),
      {},
      R_EXTRA_FIELD,
      /body\.migrants\[1\]\."origin"/,
    ],
    // numbers
    [
      "NaN accuracy",
      withRaw("migrants", (r) => (r.body.migrants[0].accuracy = Number.NaN)),
      {},
      R_NON_FINITE,
      /body\.migrants\[0\]\.accuracy/,
    ],
    [
      "infinite best fitness",
      withRaw("report", (r) => (r.body.bestFitness = Number.POSITIVE_INFINITY)),
      {},
      R_NON_FINITE,
      /body\.bestFitness/,
    ],
    [
      "report edges beyond the most neighbours",
      withRaw("report", (r) => {
        r.body.edges.out = Array.from({ length: 1025 }, (_, island) => ({ island, sent: 1 }));
      }),
      {},
      R_OUT_OF_RANGE,
      /body\.edges\.out has 1025 entries/,
    ],
    [
      "report edge with an extra field",
      withRaw("report", (r) => (r.body.edges.in[0].dropped = 1)),
      {},
      R_EXTRA_FIELD,
      /body\.edges\.in\[0\]\."dropped"/,
    ],
    [
      "negative edge count",
      withRaw("report", (r) => (r.body.edges.in[0].accepted = -1)),
      {},
      R_OUT_OF_RANGE,
      /body\.edges\.in\[0\]\.accepted/,
    ],
    [
      "NaN in config",
      withRaw("assign", (r) => (r.body.config.ga.rate = Number.NaN)),
      {},
      R_NON_FINITE,
      /config\.ga\.rate/,
    ],
    [
      "accuracy above 1",
      withRaw("ticket", (r) => (r.body.best.accuracy = 1.5)),
      {},
      R_OUT_OF_RANGE,
      /body\.best\.accuracy must be in \[0, 1\]/,
    ],
    ["negative epoch", withRaw("stop", (r) => (r.epoch = -1)), {}, R_OUT_OF_RANGE, /^epoch must be >= 0/],
    // strings
    [
      "host too long",
      withRaw("hello", (r) => (r.body.host = long(256))),
      {},
      R_STRING_TOO_LONG,
      /body\.host has 256/,
    ],
    ["from too long", withRaw("stop", (r) => (r.from = long(129))), {}, R_STRING_TOO_LONG, /^from/],
    [
      "stop reason too long",
      withRaw("stop", (r) => (r.body.reason = long(1025))),
      {},
      R_STRING_TOO_LONG,
      /reason/,
    ],
    // run, sender, order
    ["wrong run id", withRaw("stop", (r) => (r.runId = "another-run")), {}, R_WRONG_RUN, /"another-run"/],
    ["wrong sender", () => encode(valid("stop")), { expectedFrom: "island-4" }, R_WRONG_SENDER, /"island-3"/],
    [
      "replayed seq (equal)",
      () => encode(valid("migrants")),
      { lastSeq: 7 },
      R_REPLAY,
      /seq 7 is not after .* 7/,
    ],
    ["out-of-order seq", () => encode(valid("migrants")), { lastSeq: 100 }, R_REPLAY, /seq 7/],
    // masks
    [
      "genome length differs",
      () => encode(valid("migrants")),
      { genomeLength: 999 },
      R_GENOME_LENGTH,
      /1000/,
    ],
    [
      "mask before assignment",
      () => encode(valid("ticket")),
      { genomeLength: null },
      R_GENOME_LENGTH,
      /before the genome length is known/,
    ],
    [
      "migrant claims another length",
      withRaw("migrants", (r) => (r.body.migrants[0].length = 1001)),
      {},
      R_GENOME_LENGTH,
      /length 1001/,
    ],
    [
      "assign of another genome",
      () => encode(valid("assign")),
      { genomeLength: 64 },
      R_GENOME_LENGTH,
      /differs/,
    ],
    [
      "one byte short",
      withRaw("migrants", (r) => (r.body.migrants[0].bits = r.body.migrants[0].bits.subarray(1))),
      {},
      R_MASK_BYTES,
      /124 bytes; 1000 bits pack into 125/,
    ],
    [
      "one byte long",
      withRaw(
        "migrants",
        (r) => (r.body.migrants[1].bits = Buffer.concat([r.body.migrants[1].bits, Buffer.of(0)])),
      ),
      {},
      R_MASK_BYTES,
      /body\.migrants\[1\]\.bits has 126 bytes; 1000 bits pack into 125/,
    ],
    [
      "empty mask blob",
      withRaw("ticket", (r) => (r.body.best.bits = Buffer.alloc(0))),
      {},
      R_MASK_BYTES,
      /body\.best\.bits has 0 bytes/,
    ],
    [
      "mask bits as an array of numbers",
      withRaw("migrants", (r) => (r.body.migrants[0].bits = [...r.body.migrants[0].bits])),
      {},
      R_BAD_FIELD,
      /body\.migrants\[0\]\.bits must be binary, got an array/,
    ],
    [
      "padding bits set",
      () => {
        const m = migrantOf(patternMask(1001, 4));
        const raw = rawOf(makeMessage("migrants", header(), { migrants: [m] }));
        raw.body.migrants[0].bits[125] |= 0x80;
        return pack(raw);
      },
      { genomeLength: 1001 },
      R_MASK_PADDING,
      /beyond bit 1001/,
    ],
    [
      "flipped bit",
      withRaw("ticket", (r) => (r.body.best.bits[10] ^= 0x04)),
      {},
      R_MASK_HASH,
      /body\.best\.hash/,
    ],
    [
      "hash of another mask",
      withRaw("migrants", (r) => (r.body.migrants[0].hash = r.body.migrants[1].hash)),
      {},
      R_MASK_HASH,
      /not the mask's hash/,
    ],
    ["zeros miscounted", withRaw("ticket", (r) => (r.body.best.zeros += 1)), {}, R_MASK_ZEROS, /zero bits/],
    // log records: known levels only, bounded fields
    [
      "log of an unknown level",
      withRaw("log", (r) => (r.body.level = "verbose")),
      {},
      R_BAD_FIELD,
      /^body\.level must be one of trace, debug, info, warn, error, fatal/,
    ],
    ["log time before 1970", withRaw("log", (r) => (r.body.time = -1)), {}, R_OUT_OF_RANGE, /^body\.time/],
    // beyond the last valid Date: it would make the coordinator's log throw on toISOString
    [
      "log time past Date's range",
      withRaw("log", (r) => (r.body.time = 1e300)),
      {},
      R_OUT_OF_RANGE,
      /^body\.time/,
    ],
    [
      "log msg too long",
      withRaw("log", (r) => (r.body.msg = long(2049))),
      {},
      R_STRING_TOO_LONG,
      /^body\.msg/,
    ],
    [
      "log field string too long",
      withRaw("log", (r) => (r.body.fields.remote = long(2049))),
      {},
      R_STRING_TOO_LONG,
      /^body\.fields\.remote/,
    ],
    [
      "log fields nested too deep",
      withRaw("log", (r) => (r.body.fields.deep = { a: { b: { c: { d: 1 } } } })),
      {},
      R_BAD_FIELD,
      /^body\.fields\.deep\.a\.b\.c nests deeper than 4 levels/,
    ],
    [
      "log fields with too many entries",
      withRaw("log", (r) => (r.body.fields.many = Array.from({ length: 65 }, (_, i) => i))),
      {},
      R_OUT_OF_RANGE,
      /^body\.fields\.many has 65 entries, at most 64/,
    ],
    [
      "log fields too large as JSON",
      withRaw("log", (r) => {
        for (let i = 0; i < 10; i++) r.body.fields[`k${i}`] = long(2000);
      }),
      {},
      R_OUT_OF_RANGE,
      /^body\.fields is \d+ characters as JSON, at most 16384/,
    ],
    [
      "log fields not a map",
      withRaw("log", (r) => (r.body.fields = [1])),
      {},
      R_BAD_FIELD,
      /^body\.fields must be a map/,
    ],
    [
      "too many migrants",
      () => encode(valid("migrants")),
      { maxMigrants: 1 },
      R_TOO_MANY_MIGRANTS,
      /2 entries, at most 1/,
    ],
  ];

  for (const [name, frame, over, code, reason] of cases) {
    it(`${name} → ${code} (close ${CLOSE_CODES[code]})`, () => {
      expectRefused(frame(), ctx(over), code, reason);
    });
  }

  it("the cases cover every reason decode can give", () => {
    const connectionLevel = new Set<ReasonCode>([
      R_AUTH_FAILED,
      R_BAD_TAG, // auth.ts untagFrame, before decode
      R_NOT_AUTHENTICATED,
      R_TIMEOUT,
      R_INTERNAL,
    ]);
    const covered = new Set(cases.map((c) => c[3]));
    for (const code of REASON_CODES)
      if (!connectionLevel.has(code)) expect([...covered], code).toContain(code);
  });

  it("every proper prefix of a valid frame is refused as bad msgpack, never thrown", () => {
    for (const type of MESSAGE_TYPES) {
      const frame = encode(valid(type));
      for (let n = 0; n < frame.length; n++) {
        const r = safeDecode(frame.subarray(0, n), ctx());
        expect(r.ok, `${type} prefix ${n}/${frame.length}`).toBe(false);
        if (!r.ok) expect(r.code, `${type} prefix ${n}/${frame.length}`).toBe(R_BAD_MSGPACK);
      }
    }
  });

  it("deeply nested input is refused, not a crash", () => {
    const deep = new Uint8Array(200_000).fill(0x91); // [[[[...]]]]
    expect(safeDecode(deep, ctx()).ok).toBe(false);
    const deepConfig = withRaw("assign", (r) => {
      let x: unknown = 1;
      for (let i = 0; i < 40; i++) x = [x];
      r.body.config.deep = x;
    });
    expectRefused(deepConfig(), ctx(), R_BAD_FIELD, /deeper than 32/);
  });

  it("msgpack extension types (dates, sets, errors, typed arrays, references) are refused", () => {
    const extPackr = new Packr({ useRecords: false, moreTypes: true }); // typed arrays, sets, errors as extensions
    const ext = (v: unknown) => new Uint8Array(extPackr.pack(v));
    const hello = rawOf(valid("hello"));
    const exts: Uint8Array[] = [
      ext({ ...rawOf(valid("stop")), epoch: new Date(0) }),
      ext({ ...rawOf(valid("stop")), body: new Set(["reason"]) }),
      ext({ ...rawOf(valid("stop")), body: { reason: new Error("x") } }),
      ext({ ...hello, body: { ...hello.body, nonce: new Float64Array(4) } }), // 32 bytes, but not binary
      Uint8Array.of(0xd6, 0x70, 0, 0, 0, 1), // structured-clone pointer
      Uint8Array.of(0xd4, 0x72, 0x40), // record definition
    ];
    for (const frame of exts) {
      const r = safeDecode(frame, ctx());
      expect(r.ok).toBe(false);
    }
  });

  it("random garbage never throws and is never accepted (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const r = safeDecode(bytes, ctx());
        expect(r.ok).toBe(false);
        if (!r.ok) expect(REASON_CODES).toContain(r.code);
      }),
      { numRuns: 2000 },
    );
  });

  it("random msgpack values never throw and are never accepted (property)", () => {
    fc.assert(
      fc.property(
        fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true }),
        (value) => {
          let frame: Uint8Array;
          try {
            frame = pack(value);
          } catch {
            return; // not packable; nothing to decode
          }
          expect(safeDecode(frame, ctx()).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("valid frames with random byte edits never throw (property)", () => {
    const frames = MESSAGE_TYPES.map((t) => encode(valid(t)));
    fc.assert(
      fc.property(
        fc.nat({ max: frames.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (k, edits) => {
          const frame = frames[k].slice();
          for (const [at, byte] of edits) frame[at % frame.length] = byte;
          const r = safeDecode(frame, ctx());
          if (!r.ok) expect(REASON_CODES).toContain(r.code);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("decode accepts exactly the types listed in `accept`", () => {
    for (const type of MESSAGE_TYPES) {
      const r = safeDecode(encode(valid(type)), ctx({ accept: ["hello", "auth"] }));
      expect(r.ok).toBe(type === "hello" || type === "auth");
    }
  });

  it("decode accepts a seq strictly after lastSeq and a matching sender", () => {
    const r = safeDecode(
      encode(valid("heartbeat", { seq: 8 })),
      ctx({ lastSeq: 7, expectedFrom: "island-3" }),
    );
    expect(r.ok).toBe(true);
  });

  it("a valid message of the run decodes regardless of the receiver's genome when it carries no mask", () => {
    for (const type of ["hello", "challenge", "auth", "report", "heartbeat", "stop", "error"] as const) {
      expect(safeDecode(encode(valid(type)), ctx({ genomeLength: null })).ok).toBe(true);
    }
    expect(RUN).toBe(valid("stop").runId);
  });
});

describe("protocol close codes", () => {
  it("gives every reason its own close code in 4000–4999", () => {
    const codes = REASON_CODES.map((r) => CLOSE_CODES[r]);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) {
      expect(c).toBeGreaterThanOrEqual(4000);
      expect(c).toBeLessThanOrEqual(4999);
    }
    expect(CLOSE_CODES[R_AUTH_FAILED]).toBe(4001);
    expect(CLOSE_CODES[R_BAD_MSGPACK]).toBe(4002);
    expect(CLOSE_CODES[R_WRONG_RUN]).toBe(4003);
    expect(CLOSE_CODES[R_REPLAY]).toBe(4004);
    expect(CLOSE_CODES[R_FRAME_TOO_LARGE]).toBe(4009);
  });

  it("closeFrameFor cuts the reason to 123 UTF-8 bytes on a character boundary", () => {
    const f = closeFrameFor({ code: R_MASK_HASH, reason: "é".repeat(200) });
    expect(f.code).toBe(4019);
    expect(f.reason.startsWith("mask-hash: é")).toBe(true);
    expect(Buffer.byteLength(f.reason, "utf8")).toBeLessThanOrEqual(123);
    expect(f.reason).not.toContain("\uFFFD");
    const r = decode(pack(7), ctx());
    if (r.ok) throw new Error("expected a refusal");
    expect(closeFrameFor(r)).toEqual({ code: 4007, reason: `not-a-map: ${r.reason}` });
  });
});

describe("protocol codec: large batches (the migration hot path)", () => {
  const G = 100_000;
  const N = 16;
  const rng = Rng.derive(11, "codec-large");
  const migrants = Array.from({ length: N }, (_, i) => migrantOf(randomMask(G, rng, 0.2 + i / 40)));
  const message = makeMessage("migrants", header(), { migrants });
  const big = (over: Partial<DecodeContext> = {}) => ctx({ genomeLength: G, maxMigrants: N, ...over });

  it("round-trips, each decoded mask a separate copy with its own words", () => {
    const frame = encode(message);
    const r = safeDecode(frame, big());
    if (!r.ok || r.message.type !== "migrants") throw new Error("expected migrants");
    expect(r.message).toEqual(message);
    const got = r.message.body.migrants;
    for (const m of got) expect(m.mask.words.length).toBe(Math.ceil(G / 32));
    // writing one mask (all its words, the last one too) leaves the others and the frame alone
    got[3].mask.words.fill(0xffffffff);
    for (const [i, m] of got.entries()) {
      if (i !== 3) expect(masksEqual(m.mask, migrants[i].mask), `migrant ${i}`).toBe(true);
    }
    expect(safeDecode(frame, big()).ok).toBe(true);
  });

  it("a truncated or oversized mask blob among valid ones is refused, naming it (R_MASK_BYTES)", () => {
    const short = rawOf(message);
    short.body.migrants[9].bits = short.body.migrants[9].bits.subarray(0, G / 8 - 1);
    expectRefused(pack(short), big(), R_MASK_BYTES, /body\.migrants\[9\]\.bits has 12499 bytes; 100000 bits/);
    const long = rawOf(message);
    long.body.migrants[N - 1].bits = Buffer.concat([long.body.migrants[N - 1].bits, Buffer.alloc(4)]);
    expectRefused(pack(long), big(), R_MASK_BYTES, /body\.migrants\[15\]\.bits has 12504 bytes/);
  });

  it("a bit flipped deep inside one mask, or a wrong zero count, is refused", () => {
    const flipped = rawOf(message);
    flipped.body.migrants[7].bits[G / 8 - 1] ^= 0x80; // the very last bit
    expectRefused(pack(flipped), big(), R_MASK_HASH, /body\.migrants\[7\]\.hash/);
    const counted = rawOf(message);
    counted.body.migrants[12].zeros -= 1;
    expectRefused(pack(counted), big(), R_MASK_ZEROS, /body\.migrants\[12\]\.zeros/);
  });

  it("a small frame that lists many migrants is refused at the first bad entry", () => {
    const raw = rawOf(message);
    raw.body.migrants = [raw.body.migrants[0], ...Array.from({ length: N - 1 }, () => null)];
    expectRefused(pack(raw), big(), R_BAD_FIELD, /body\.migrants\[1\] must be a map/);
  });

  it("encode copies the masks: changing one afterwards does not change the frame", () => {
    const own = migrantOf(randomMask(G, rng));
    const frame = encode(makeMessage("migrants", header(), { migrants: [own] }));
    const before = frame.slice();
    flipBit(own.mask, 5);
    expect(frame).toEqual(before);
    const r = safeDecode(frame, big());
    if (!r.ok || r.message.type !== "migrants") throw new Error("expected migrants");
    expect(getBit(r.message.body.migrants[0].mask, 5)).toBe(!getBit(own.mask, 5));
  });

  it("encodes a mask whose words are a view into a larger buffer", () => {
    const host = new Uint32Array(3 * Math.ceil(G / 32));
    const words = host.subarray(Math.ceil(G / 32), 2 * Math.ceil(G / 32));
    words.set(migrants[2].mask.words);
    host.fill(0xffffffff, 0, Math.ceil(G / 32)); // neighbours on both sides
    host.fill(0xffffffff, 2 * Math.ceil(G / 32));
    const m = migrantOf({ length: G, words });
    const r = safeDecode(encode(makeMessage("migrants", header(), { migrants: [m] })), big());
    if (!r.ok || r.message.type !== "migrants") throw new Error("expected migrants");
    expect(masksEqual(r.message.body.migrants[0].mask, migrants[2].mask)).toBe(true);
    expect(r.message.body.migrants[0].hash).toBe(migrants[2].hash);
  });

  it("consecutive encodes of different sizes give independent frames and check each mask afresh", () => {
    const first = encode(message); // larger than encode's initial buffer
    const firstCopy = first.slice();
    // a full mask, then shorter empty ones: stale words from the full one must not count as set bits
    const full = migrantOf(fullMask(4096));
    const small = [
      migrantOf(fullMask(100)),
      migrantOf(randomMask(40, rng, 0)),
      migrantOf(randomMask(33, rng, 0)),
    ];
    for (const m of [full, ...small]) {
      const frame = encode(makeMessage("ticket", header(), { ...BODIES.ticket, best: m }));
      const r = safeDecode(frame, ctx({ genomeLength: m.mask.length }));
      expect(r.ok).toBe(true);
    }
    expect(zeros(small[1].mask)).toBe(40);
    const second = encode(valid("migrants"));
    expect(first).toEqual(firstCopy);
    expect(second.buffer).not.toBe(first.buffer);
    expect(safeDecode(first, big()).ok).toBe(true);
    // and the self-check still refuses a lie after all that reuse
    const lie = { ...small[1], zeros: 39 };
    expect(() => encode(makeMessage("ticket", header(), { ...BODIES.ticket, best: lie }))).toThrow(
      /mask-zeros/,
    );
    expect(maskHash(small[2].mask)).toBe(small[2].hash);
  });
});

describe("protocol codec: snapshots (assign weights, checkpointEvery, resume, tls; checkpoint)", () => {
  const assignWith = (over: Partial<typeof BODIES.assign>) =>
    makeMessage("assign", header(), { ...BODIES.assign, ...over }) as Message;

  it("assign carries the weight kind, and optionally checkpointEvery and a resume snapshot", () => {
    for (const over of [
      { weights: "probability" as const },
      { checkpointEvery: 10 },
      { resume: snapshotOf(GENOME, 3, 1, "lockstep") },
      { tls: { cert: "-----BEGIN CERTIFICATE-----\n...", key: "-----BEGIN PRIVATE KEY-----\n..." } },
    ]) {
      const r = safeDecode(encode(assignWith(over)), ctx({ maxSnapshotBytes: 1 << 20 }));
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.message).toEqual(assignWith(over));
    }
  });

  it("refuses a bad weight kind, a checkpointEvery below 1, a malformed tls, and a resume of another island, mode or genome", () => {
    const weights = rawOf(valid("assign"));
    weights.body.weights = "often";
    expectRefused(pack(weights), ctx(), R_BAD_FIELD, /body\.weights/);
    const missing = rawOf(valid("assign"));
    delete missing.body.weights;
    expectRefused(pack(missing), ctx(), R_MISSING_FIELD, /body\.weights/);
    const every = rawOf(assignWith({ checkpointEvery: 5 }));
    every.body.checkpointEvery = 0;
    expectRefused(pack(every), ctx(), R_OUT_OF_RANGE, /body\.checkpointEvery/);
    const tls = rawOf(assignWith({ tls: { cert: "c", key: "k" } }));
    tls.body.tls.extra = 1;
    expectRefused(pack(tls), ctx(), R_EXTRA_FIELD, /body\.tls/);
    delete tls.body.tls.extra;
    tls.body.tls.key = 7;
    expectRefused(pack(tls), ctx(), R_BAD_FIELD, /body\.tls\.key/);
    const big = ctx({ maxSnapshotBytes: 1 << 20 });
    expect(() => encode(assignWith({ resume: snapshotOf(GENOME, 4, 0, "lockstep") }))).toThrow(/not 3/);
    expect(() => encode(assignWith({ resume: snapshotOf(GENOME, 3, 0, "async") }))).toThrow(/lockstep/);
    const genome = rawOf(assignWith({ resume: snapshotOf(GENOME, 3, 0, "lockstep") }));
    genome.body.resume.ga.genomeLength = GENOME + 8;
    expectRefused(
      pack(genome),
      big,
      R_BAD_FIELD,
      /body\.resume: malformed island snapshot: ga\.genomeLength/,
    );
  });

  it("a checkpoint round-trips, and a malformed snapshot is refused naming the field", () => {
    const m = valid("checkpoint");
    const r = safeDecode(encode(m), ctx());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.message).toEqual(m);
    const bad = rawOf(m);
    bad.body.snapshot.counters.sent = -1;
    expectRefused(pack(bad), ctx(), R_BAD_FIELD, /counters\.sent/);
    const other = rawOf(m);
    other.body.island = 4;
    expectRefused(pack(other), ctx(), R_BAD_FIELD, /body\.snapshot\.island 3 is not body\.island 4/);
    expectRefused(encode(m), ctx({ genomeLength: null }), R_GENOME_LENGTH, /genome length/);
  });

  it("frames beyond maxFrameBytes are accepted only for snapshots, and only within maxSnapshotBytes", () => {
    const genome = 200_000; // 3 masks of 33 kB base64 each: beyond maxFrameBytes(genome, 0)'s room
    const m = makeMessage("checkpoint", header(), {
      island: 3,
      final: true,
      snapshot: snapshotOf(genome, 3),
    }) as Message;
    const frame = encode(m);
    const c = ctx({ genomeLength: genome, maxMigrants: 0 });
    expect(frame.byteLength).toBeGreaterThan(maxFrameBytes(genome, 0) - FRAME_OVERHEAD_BYTES);
    const room = maxSnapshotBytes(genome, 4, 4);
    expect(room).toBeGreaterThan(frame.byteLength - FRAME_OVERHEAD_BYTES);
    expect(safeDecode(frame, { ...c, maxSnapshotBytes: room }).ok).toBe(true);
    // a frame of another type is held to maxFrameBytes whatever the snapshot room
    const huge = new Uint8Array(maxFrameBytes(genome, 0) + 1);
    expectRefused(huge, { ...c, maxSnapshotBytes: 0 }, R_FRAME_TOO_LARGE, /exceeds/);
    const config = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, long(60_000)]));
    const report = encode(makeMessage("stop", header(), { reason: "x" }));
    expect(safeDecode(report, { ...c, maxSnapshotBytes: room }).ok).toBe(true);
    const bigAssign = encode(
      makeMessage("assign", header(), { ...BODIES.assign, genomeLength: genome, config }),
    );
    // an assignment gets the room only when it carries a resume snapshot
    expect(bigAssign.byteLength).toBeGreaterThan(maxFrameBytes(genome, 0));
    expectRefused(
      bigAssign,
      { ...c, maxSnapshotBytes: 2 * room },
      R_FRAME_TOO_LARGE,
      /^an assign frame of \d+ bytes exceeds/,
    );
    const resume = snapshotOf(genome, 3, 1, "lockstep");
    const resumeAssign = encode(
      makeMessage("assign", header(), {
        ...BODIES.assign,
        genomeLength: genome,
        config,
        mode: "lockstep",
        resume,
      }),
    );
    expect(resumeAssign.byteLength).toBeGreaterThan(maxFrameBytes(genome, 0));
    expect(safeDecode(resumeAssign, { ...c, maxSnapshotBytes: 2 * room }).ok).toBe(true);
    expect(maxSnapshotBytes(2 ** 28, 1 << 20, 1e9)).toBe(MAX_SNAPSHOT_BYTES);
  });
});
