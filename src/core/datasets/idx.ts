// The IDX format of the raw MNIST files (LeCun et al.): a 4-byte magic number — two zero bytes, a type
// byte (0x08 = unsigned byte) and the number of dimensions — then one big-endian uint32 per dimension,
// then the values, row-major. Pure: the bytes come in as an argument (src/io/datasets.ts reads the files);
// the pixels stay a view of those bytes, never one JS value per pixel.
import { E_DATASET_FILE, SltError } from "../errors.ts";

/** unsigned bytes, 3 dimensions: images × rows × columns */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** unsigned bytes, 1 dimension: one label per image */
export const IDX_LABELS_MAGIC = 0x00000801;

export interface Idx {
  /** the dimensions from the header, e.g. [60000, 28, 28] */
  readonly dims: readonly number[];
  /** the values, row-major: a view of the input bytes (not a copy) */
  readonly data: Uint8Array;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, "0")}`;

/**
 * Parses one IDX file of unsigned bytes whose magic number must be `magic` (IDX_IMAGES_MAGIC or
 * IDX_LABELS_MAGIC). Throws SltError E_DATASET_FILE naming `file` for a wrong magic number, a truncated
 * header or data, and bytes after the data.
 */
export function parseIdx(bytes: Uint8Array, file: string, magic: number): Idx {
  const what = magic === IDX_IMAGES_MAGIC ? "an IDX image file" : "an IDX label file";
  const ndims = magic & 0xff;
  const fail = (why: string): never => {
    throw new SltError(E_DATASET_FILE, `${file}: ${why}`);
  };
  if (bytes.length < 4) fail(`truncated: ${bytes.length} bytes, too short for the IDX magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    fail(
      `not ${what}: magic number ${hex(found)}, expected ${hex(magic)} (unsigned bytes, ${ndims} dimension${ndims === 1 ? "" : "s"})`,
    );
  }
  const header = 4 + 4 * ndims;
  if (bytes.length < header) {
    fail(`truncated: ${bytes.length} bytes, the header alone takes ${header} (${ndims} dimensions)`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    const v = view.getUint32(4 + 4 * d, false);
    dims.push(v);
    size *= v;
  }
  const body = bytes.length - header;
  if (body < size) {
    fail(`truncated: the header says ${dims.join(" × ")} = ${size} values but only ${body} bytes follow it`);
  }
  if (body > size) {
    fail(
      `${body - size} unexpected bytes after the ${dims.join(" × ")} = ${size} values the header announces`,
    );
  }
  return { dims, data: bytes.subarray(header, header + size) };
}

/** n rows of `features` byte values (pixels 0..255), row-major, and a label per row. */
export interface ByteSplit {
  readonly n: number;
  readonly features: number;
  readonly x: Uint8Array;
  readonly y: Int32Array;
}

export const MNIST_SIDE = 28;
export const MNIST_FEATURES = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;

export interface IdxFile {
  readonly file: string;
  readonly bytes: Uint8Array;
}

/**
 * One MNIST split from its image and label files: 28×28 images as 784 byte features (row-major pixels),
 * labels 0..9. Checks the magic numbers, sizes, that both files count the same images, and the labels.
 */
export function mnistSplit(images: IdxFile, labels: IdxFile): ByteSplit {
  const im = parseIdx(images.bytes, images.file, IDX_IMAGES_MAGIC);
  const lb = parseIdx(labels.bytes, labels.file, IDX_LABELS_MAGIC);
  const [n, rows, cols] = im.dims;
  if (rows !== MNIST_SIDE || cols !== MNIST_SIDE) {
    throw new SltError(
      E_DATASET_FILE,
      `${images.file}: images of ${rows} × ${cols} pixels; MNIST images are ${MNIST_SIDE} × ${MNIST_SIDE}`,
    );
  }
  if (lb.dims[0] !== n) {
    throw new SltError(
      E_DATASET_FILE,
      `${labels.file} has ${lb.dims[0]} labels but ${images.file} has ${n} images; they must count the same`,
    );
  }
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lb.data[i];
    if (v >= MNIST_CLASSES) {
      throw new SltError(
        E_DATASET_FILE,
        `${labels.file}: label ${v} of image ${i} is not a digit 0..${MNIST_CLASSES - 1}`,
      );
    }
    y[i] = v;
  }
  return { n, features: MNIST_FEATURES, x: im.data, y };
}

/** The rows whose label is below `classes`, in order (a copy); the split itself when every row is. */
export function firstClasses(s: ByteSplit, classes: number): ByteSplit {
  let n = 0;
  for (let i = 0; i < s.n; i++) if (s.y[i] < classes) n++;
  if (n === s.n) return s;
  const f = s.features;
  const x = new Uint8Array(n * f);
  const y = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < s.n; i++) {
    if (s.y[i] >= classes) continue;
    x.set(s.x.subarray(i * f, i * f + f), k * f);
    y[k++] = s.y[i];
  }
  return { n, features: f, x, y };
}
