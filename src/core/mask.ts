// Bit-packed masks (genomes): one bit per weight, 1 keeps the weight. Stored as 32-bit words whose
// little-endian bytes are exactly the wire order: bit i = bit (i mod 8) of byte ⌊i/8⌋.
// Invariant: bits at positions >= length are always zero.
import type { Rng } from "./rng.ts";

export interface Mask {
  readonly length: number;
  readonly words: Uint32Array;
}

function wordsFor(length: number): number {
  return Math.ceil(length / 32);
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError(`mask length must be a non-negative integer, got ${length}`);
}

function tailMask(length: number): number {
  const r = length & 31;
  return r === 0 ? 0xffffffff : (1 << r) - 1;
}

export function emptyMask(length: number): Mask {
  checkLength(length);
  return { length, words: new Uint32Array(wordsFor(length)) };
}

export function fullMask(length: number): Mask {
  const m = emptyMask(length);
  m.words.fill(0xffffffff);
  clearTail(m);
  return m;
}

function clearTail(m: Mask): void {
  if (m.words.length > 0) m.words[m.words.length - 1] &= tailMask(m.length);
}

export function cloneMask(m: Mask): Mask {
  return { length: m.length, words: m.words.slice() };
}

function checkIndex(m: Mask, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= m.length)
    throw new RangeError(`bit index ${i} outside mask of length ${m.length}`);
}

export function getBit(m: Mask, i: number): boolean {
  checkIndex(m, i);
  return ((m.words[i >>> 5] >>> (i & 31)) & 1) === 1;
}

export function setBit(m: Mask, i: number, value: boolean): void {
  checkIndex(m, i);
  if (value) m.words[i >>> 5] |= 1 << (i & 31);
  else m.words[i >>> 5] &= ~(1 << (i & 31));
}

export function flipBit(m: Mask, i: number): void {
  checkIndex(m, i);
  m.words[i >>> 5] ^= 1 << (i & 31);
}

/** A copy of m with bit i flipped. */
export function withFlipped(m: Mask, i: number): Mask {
  const c = cloneMask(m);
  flipBit(c, i);
  return c;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Number of kept (1) bits. */
export function popcount(m: Mask): number {
  let n = 0;
  for (let k = 0; k < m.words.length; k++) n += popcount32(m.words[k]);
  return n;
}

/** Number of pruned (0) bits. */
export function zeros(m: Mask): number {
  return m.length - popcount(m);
}

/** zeros / length; 0 for an empty mask. */
export function sparsity(m: Mask): number {
  return m.length === 0 ? 0 : zeros(m) / m.length;
}

function checkSameLength(a: Mask, b: Mask): void {
  if (a.length !== b.length) throw new RangeError(`masks differ in length: ${a.length} vs ${b.length}`);
}

export function hamming(a: Mask, b: Mask): number {
  checkSameLength(a, b);
  let n = 0;
  for (let k = 0; k < a.words.length; k++) n += popcount32(a.words[k] ^ b.words[k]);
  return n;
}

export function masksEqual(a: Mask, b: Mask): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.words.length; k++) if (a.words[k] !== b.words[k]) return false;
  return true;
}

/** Each bit set independently with probability p (p = 0.5 uses 32 random bits per word). */
export function randomMask(length: number, rng: Rng, p = 0.5): Mask {
  const m = emptyMask(length);
  if (p === 0.5) {
    for (let k = 0; k < m.words.length; k++) m.words[k] = rng.uint32();
  } else {
    for (let i = 0; i < length; i++) if (rng.next() < p) m.words[i >>> 5] |= 1 << (i & 31);
  }
  clearTail(m);
  return m;
}

/** Uniform crossover: each bit from a or b with probability ½ (one random word selects 32 bits). */
export function uniformCrossover(a: Mask, b: Mask, rng: Rng): Mask {
  checkSameLength(a, b);
  const c = emptyMask(a.length);
  for (let k = 0; k < c.words.length; k++) {
    const pick = rng.uint32();
    c.words[k] = (a.words[k] & pick) | (b.words[k] & ~pick);
  }
  clearTail(c);
  return c;
}

/** Whether this host stores a Uint32Array's words little-endian, i.e. in wire byte order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The packed bytes in wire order, ⌈length/8⌉ long, as a view of the mask's own words (no copy) where
 * the host is little-endian, else a fresh copy. Read-only use: writing through a view writes the mask.
 */
export function maskBytesView(m: Mask): Uint8Array {
  if (!LITTLE_ENDIAN) return maskToBytes(m);
  return new Uint8Array(m.words.buffer, m.words.byteOffset, Math.ceil(m.length / 8));
}

/** Packed bytes in wire order, ⌈length/8⌉ long (a fresh copy). */
export function maskToBytes(m: Mask): Uint8Array {
  const n = Math.ceil(m.length / 8);
  if (LITTLE_ENDIAN) return new Uint8Array(m.words.buffer, m.words.byteOffset, n).slice();
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (m.words[i >>> 2] >>> ((i & 3) * 8)) & 0xff;
  return out;
}

/** Inverse of maskToBytes; rejects a wrong byte count or set padding bits. Copies its input. */
export function maskFromBytes(bytes: Uint8Array, length: number): Mask {
  checkLength(length);
  return maskFromBytesInto(bytes, length, new Uint32Array(wordsFor(length)));
}

/**
 * maskFromBytes into caller-owned words (at least ⌈length/32⌉ long, overwritten) instead of fresh
 * ones: the mask is a view of them, valid until they are reused. Same checks as maskFromBytes.
 */
export function maskFromBytesInto(bytes: Uint8Array, length: number, into: Uint32Array): Mask {
  checkLength(length);
  const expected = Math.ceil(length / 8);
  if (bytes.length !== expected) {
    throw new RangeError(`mask of ${length} bits needs ${expected} bytes, got ${bytes.length}`);
  }
  const n = wordsFor(length);
  if (into.length < n) throw new RangeError(`${n} words needed for ${length} bits, got ${into.length}`);
  const m: Mask = { length, words: into.length === n ? into : into.subarray(0, n) };
  if (n > 0) m.words[n - 1] = 0; // the bytes copied below may not fill the last word
  if (LITTLE_ENDIAN) new Uint8Array(m.words.buffer, m.words.byteOffset, expected).set(bytes);
  else {
    m.words.fill(0);
    for (let i = 0; i < bytes.length; i++) m.words[i >>> 2] |= bytes[i] << ((i & 3) * 8);
  }
  const before = n > 0 ? m.words[n - 1] : 0;
  clearTail(m);
  if (n > 0 && m.words[n - 1] !== before) {
    throw new RangeError(`mask bytes set padding bits beyond bit ${length}`);
  }
  return m;
}

/**
 * 64-bit hash of (length, bits) as 16 hex digits: two independently seeded 32-bit murmur3-style
 * lanes. Used to key fitness caches and to de-duplicate migrants; not cryptographic. maskHashAndZeros
 * repeats this loop: change both together (test/core/mask.test.ts checks that they agree).
 */
export function maskHash(m: Mask): string {
  let h1 = 0x9747b28c ^ m.length;
  let h2 = 0x5bd1e995 ^ Math.imul(m.length, 0x27d4eb2d);
  for (let k = 0; k < m.words.length; k++) {
    let w = Math.imul(m.words[k], 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    w = Math.imul(w, 0x1b873593);
    h1 ^= w;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let v = Math.imul(m.words[k] ^ 0x85ebca6b, 0x85ebca6b);
    v ^= v >>> 16;
    h2 = Math.imul(h2 ^ v, 0xc2b2ae35);
    h2 ^= h2 >>> 13;
  }
  h1 = fmix(h1 ^ m.words.length);
  h2 = fmix(h2 ^ h1);
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

/**
 * maskHash(m) and zeros(m) in one pass over the words (the popcount fills the hash's dependency
 * stalls, so both cost about as much as the hash alone). For checking received masks.
 */
export function maskHashAndZeros(m: Mask): { hash: string; zeros: number } {
  const words = m.words;
  const n = words.length;
  let h1 = 0x9747b28c ^ m.length;
  let h2 = 0x5bd1e995 ^ Math.imul(m.length, 0x27d4eb2d);
  let ones = 0;
  for (let k = 0; k < n; k++) {
    const x = words[k];
    // maskHash's two lanes, word for word
    let w = Math.imul(x, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    w = Math.imul(w, 0x1b873593);
    h1 ^= w;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let v = Math.imul(x ^ 0x85ebca6b, 0x85ebca6b);
    v ^= v >>> 16;
    h2 = Math.imul(h2 ^ v, 0xc2b2ae35);
    h2 ^= h2 >>> 13;
    // popcount32, inlined
    let c = x - ((x >>> 1) & 0x55555555);
    c = (c & 0x33333333) + ((c >>> 2) & 0x33333333);
    c = (c + (c >>> 4)) & 0x0f0f0f0f;
    ones += Math.imul(c, 0x01010101) >>> 24;
  }
  h1 = fmix(h1 ^ n);
  h2 = fmix(h2 ^ h1);
  return {
    hash: (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0"),
    zeros: m.length - ones,
  };
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Indices of kept bits, ascending. */
export function keptIndices(m: Mask): number[] {
  const out: number[] = [];
  for (let i = 0; i < m.length; i++) if ((m.words[i >>> 5] >>> (i & 31)) & 1) out.push(i);
  return out;
}

export function maskToBase64(m: Mask): string {
  return Buffer.from(maskToBytes(m)).toString("base64");
}

export function maskFromBase64(text: string, length: number): Mask {
  return maskFromBytes(new Uint8Array(Buffer.from(text, "base64")), length);
}
