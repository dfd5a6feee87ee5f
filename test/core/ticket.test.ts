import { describe, expect, it } from "vitest";
import { SltError } from "../../src/core/errors.ts";
import { masksEqual, randomMask } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { Rng } from "../../src/core/rng.ts";
import { sameWeights, type Ticket, ticketFromJson, ticketToJson } from "../../src/core/ticket.ts";

function sampleTicket(): Ticket {
  const network = initNetwork([3, 5, 4, 2], { kind: "kaiming-normal", prunedFraction: 0.5 }, 11);
  const rng = Rng.derive(11, "ticket-test");
  return {
    network,
    mask: randomMask(network.genomeLength, rng),
    evolvedMask: randomMask(network.genomeLength, rng),
    dataset: { name: "moons", variant: "2025", scale: "paper" },
    metrics: { trainAccuracy: 0.5, testAccuracy: 0.25 },
    pruneMode: "clean",
  };
}

function ticketError(doc: unknown): string {
  try {
    ticketFromJson(doc, "t.json");
  } catch (e) {
    expect(e).toBeInstanceOf(SltError);
    expect((e as SltError).code).toBe("E_TICKET");
    return (e as Error).message;
  }
  throw new Error("expected E_TICKET");
}

describe("ticket", () => {
  it("round-trips through JSON text: weights bit-identical, masks equal, metadata kept", () => {
    const t = sampleTicket();
    const doc = JSON.parse(JSON.stringify(ticketToJson(t)));
    expect(doc.format).toBe("slt-ticket/1");
    expect(doc.activation).toBe("relu");
    expect(doc.layers.map((l: { shape: number[] }) => l.shape)).toEqual([
      [5, 3],
      [4, 5],
      [2, 4],
    ]);
    const back = ticketFromJson(doc);
    expect(sameWeights(back.network, t.network)).toBe(true);
    expect(masksEqual(back.mask, t.mask)).toBe(true);
    expect(masksEqual(back.evolvedMask!, t.evolvedMask!)).toBe(true);
    expect(back.network.genomeLength).toBe(t.network.genomeLength);
    expect(back.metrics).toEqual(t.metrics);
    expect(back.pruneMode).toBe("clean");
    expect(back.network.init).toEqual(t.network.init);
  });

  it("stores weights as little-endian float32, row-major [out][in]", () => {
    const t = sampleTicket();
    const doc = ticketToJson(t) as { layers: { weight: string }[] };
    const bytes = Buffer.from(doc.layers[0].weight, "base64");
    expect(bytes.readFloatLE(4 * (1 * 3 + 2))).toBe(t.network.layers[0].weight[1 * 3 + 2]);
  });

  it("rejects malformed tickets with the field at fault", () => {
    const good = () => JSON.parse(JSON.stringify(ticketToJson(sampleTicket())));
    expect(ticketError({ ...good(), format: "slt-ticket/0" })).toMatch(/format/);
    const shape = good();
    shape.layers[1].shape = [5, 4];
    expect(ticketError(shape)).toMatch(/layers\.1\.shape is \[5,4\], expected \[4,5\]/);
    const short = good();
    short.layers[0].bias = Buffer.alloc(8).toString("base64");
    expect(ticketError(short)).toMatch(
      /layers\.0\.bias: expected 5 float32 values \(20 bytes\), got 8 bytes/,
    );
    const len = good();
    len.mask.length = 10;
    expect(ticketError(len)).toMatch(/mask\.length is 10, the network has 43 weights/);
    const missing = good();
    delete missing.layers;
    expect(ticketError(missing)).toMatch(/layers/);
    expect(ticketError("nope")).toMatch(/not a valid slt-ticket\/1/);
  });
});
