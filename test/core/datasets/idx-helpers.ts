// Hand-built IDX files for the MNIST tests.
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, MNIST_FEATURES } from "../../../src/core/datasets/index.ts";
import { Rng } from "../../../src/core/rng.ts";

/** An IDX file of unsigned bytes: magic, big-endian dims, values. */
export function idxBytes(magic: number, dims: number[], values: ArrayLike<number>): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + values.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  for (let k = 0; k < dims.length; k++) view.setUint32(4 + 4 * k, dims[k], false);
  out.set(values, header);
  return out;
}

/** n random 28×28 images and labels 0..9 (seeded), as IDX files. */
export function fakeMnist(n: number, seed: string): { images: Uint8Array; labels: Uint8Array } {
  const rng = Rng.derive(seed, "fake-mnist");
  const pixels = new Uint8Array(n * MNIST_FEATURES);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.chance(0.8) ? 0 : rng.int(256);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i < 10 ? i : rng.int(10);
  return {
    images: idxBytes(IDX_IMAGES_MAGIC, [n, 28, 28], pixels),
    labels: idxBytes(IDX_LABELS_MAGIC, [n], labels),
  };
}
