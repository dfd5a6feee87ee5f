// The ticket: what a search produces and a user keeps. A self-contained JSON document (format
// "slt-ticket/1") holding the weights themselves, so it can be checked without this project:
// see docs/ticket-format.md for a NumPy reader.
import { z } from "zod";
import type { DatasetDescription } from "./dataset.ts";
import { SltError } from "./errors.ts";
import { type Mask, maskFromBase64, maskToBase64, sparsity } from "./mask.ts";
import { type InitScheme, type Layer, type Network, validateArchitecture } from "./network.ts";

export const TICKET_FORMAT = "slt-ticket/1";
export const MASK_ORDER =
  "bit i of the genome = bit (i mod 8) of byte floor(i/8); genome = weight layers in order, each [out][in] row-major";

export interface TicketMetrics {
  readonly [name: string]: number | string | null;
}

export interface Ticket {
  readonly network: Network;
  readonly mask: Mask;
  readonly dataset: DatasetDescription;
  readonly metrics: TicketMetrics;
  /** "none", "clean" or "published": how the ticket's mask was chosen and pruned */
  readonly pruneMode: string;
  /** the evolved mask before post-pruning, when pruning ran */
  readonly evolvedMask?: Mask;
}

function float32ToBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let k = 0; k < values.length; k++) view.setFloat32(k * 4, values[k], true);
  return Buffer.from(bytes).toString("base64");
}

function float32FromBase64(text: string, expected: number, where: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== expected * 4) {
    throw new SltError(
      "E_TICKET",
      `${where}: expected ${expected} float32 values (${expected * 4} bytes), got ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(expected);
  for (let k = 0; k < expected; k++) out[k] = view.getFloat32(k * 4, true);
  return out;
}

/** The JSON document of a ticket. */
export function ticketToJson(t: Ticket): Record<string, unknown> {
  const maskJson = (m: Mask) => ({ length: m.length, bits: maskToBase64(m), sparsity: sparsity(m) });
  return {
    format: TICKET_FORMAT,
    architecture: t.network.architecture,
    activation: "relu",
    output: "raw logits; prediction = argmax (first index on ties); ReLU after every hidden layer",
    init: t.network.init,
    seed: t.network.seed,
    layers: t.network.layers.map((l) => ({
      shape: [l.outputs, l.inputs],
      weight: float32ToBase64(l.weight),
      bias: float32ToBase64(l.bias),
    })),
    encoding: {
      floats: "float32 little-endian, base64; weight is [out][in] row-major",
      mask: MASK_ORDER,
    },
    mask: maskJson(t.mask),
    ...(t.evolvedMask ? { evolvedMask: maskJson(t.evolvedMask) } : {}),
    pruneMode: t.pruneMode,
    dataset: t.dataset,
    metrics: t.metrics,
  };
}

const MaskJson = z.object({ length: z.number().int().nonnegative(), bits: z.string() });
const TicketJson = z.object({
  format: z.literal(TICKET_FORMAT),
  architecture: z.array(z.number().int().positive()).min(2),
  activation: z.literal("relu"),
  init: z.unknown(),
  seed: z.union([z.number(), z.string()]),
  layers: z.array(
    z.object({ shape: z.tuple([z.number().int(), z.number().int()]), weight: z.string(), bias: z.string() }),
  ),
  mask: MaskJson,
  evolvedMask: MaskJson.optional(),
  pruneMode: z.string(),
  dataset: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
});

/** Parses and checks a ticket document: shapes, byte counts and mask length must all agree. */
export function ticketFromJson(doc: unknown, source = "ticket"): Ticket {
  const parsed = TicketJson.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new SltError(
      "E_TICKET",
      `${source}: not a valid ${TICKET_FORMAT} document: ${first.path.join(".") || "(top level)"}: ${first.message}`,
    );
  }
  const d = parsed.data;
  try {
    validateArchitecture(d.architecture);
  } catch (e) {
    throw new SltError("E_TICKET", `${source}: ${(e as Error).message}`);
  }
  if (d.layers.length !== d.architecture.length - 1) {
    throw new SltError(
      "E_TICKET",
      `${source}: ${d.layers.length} layers for architecture [${d.architecture}]`,
    );
  }
  let offset = 0;
  const layers: Layer[] = d.layers.map((l, i) => {
    const inputs = d.architecture[i];
    const outputs = d.architecture[i + 1];
    if (l.shape[0] !== outputs || l.shape[1] !== inputs) {
      throw new SltError(
        "E_TICKET",
        `${source}: layers.${i}.shape is [${l.shape}], expected [${outputs},${inputs}]`,
      );
    }
    const layer = {
      inputs,
      outputs,
      weight: float32FromBase64(l.weight, inputs * outputs, `${source}: layers.${i}.weight`),
      bias: float32FromBase64(l.bias, outputs, `${source}: layers.${i}.bias`),
      offset,
    };
    offset += inputs * outputs;
    return layer;
  });
  const readMask = (m: z.infer<typeof MaskJson>, field: string) => {
    if (m.length !== offset)
      throw new SltError(
        "E_TICKET",
        `${source}: ${field}.length is ${m.length}, the network has ${offset} weights`,
      );
    try {
      return maskFromBase64(m.bits, m.length);
    } catch (e) {
      throw new SltError("E_TICKET", `${source}: ${field}.bits: ${(e as Error).message}`);
    }
  };
  const network: Network = {
    architecture: d.architecture,
    init: d.init as InitScheme,
    seed: d.seed,
    layers,
    genomeLength: offset,
  };
  return {
    network,
    mask: readMask(d.mask, "mask"),
    ...(d.evolvedMask ? { evolvedMask: readMask(d.evolvedMask, "evolvedMask") } : {}),
    dataset: d.dataset as unknown as DatasetDescription,
    metrics: d.metrics,
    pruneMode: d.pruneMode,
  };
}

/** True when two networks hold bit-identical weights and biases. */
export function sameWeights(a: Network, b: Network): boolean {
  if (a.layers.length !== b.layers.length) return false;
  return a.layers.every((l, i) => {
    const m = b.layers[i];
    const eq = (x: Float32Array, y: Float32Array) =>
      x.length === y.length && x.every((v, k) => Object.is(v, y[k]));
    return eq(l.weight, m.weight) && eq(l.bias, m.bias);
  });
}
