// Field readers for decoded msgpack values. A reader either returns a checked, copied value or
// throws a Fault carrying the reason code and a reason that names the field; decode turns Faults
// into results, so nothing here escapes to callers.
import {
  R_BAD_FIELD,
  R_EXTRA_FIELD,
  R_MISSING_FIELD,
  R_NON_FINITE,
  R_OUT_OF_RANGE,
  R_STRING_TOO_LONG,
  type ReasonCode,
} from "./reasons.ts";

export class Fault {
  readonly code: ReasonCode;
  readonly reason: string;

  constructor(code: ReasonCode, reason: string) {
    this.code = code;
    this.reason = reason;
  }
}

export function fail(code: ReasonCode, reason: string): never {
  throw new Fault(code, reason);
}

/** A short description of a hostile value's kind, safe to put in a reason. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Map) return "a map";
  if (v instanceof Uint8Array) return "binary";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** A hostile string quoted and cut to 40 characters for a reason. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** A msgpack map with string keys; `take` marks fields as known so `end` can refuse the rest. */
export class Fields {
  readonly path: string;
  readonly #map: Map<string, unknown>;
  readonly #taken = new Set<string>();

  constructor(value: unknown, path: string) {
    if (!(value instanceof Map)) fail(R_BAD_FIELD, `${path} must be a map, got ${describe(value)}`);
    for (const k of value.keys()) {
      if (typeof k !== "string") fail(R_BAD_FIELD, `${path} has ${describe(k)} key; keys must be strings`);
    }
    this.path = path;
    this.#map = value as Map<string, unknown>;
  }

  name(field: string): string {
    return this.path === "" ? field : `${this.path}.${field}`;
  }

  has(field: string): boolean {
    return this.#map.has(field);
  }

  take(field: string): unknown {
    if (!this.#map.has(field)) fail(R_MISSING_FIELD, `${this.name(field)} is missing`);
    this.#taken.add(field);
    return this.#map.get(field);
  }

  /** Refuses fields not taken: a new field means a new protocol version. */
  end(): void {
    for (const k of this.#map.keys()) {
      if (!this.#taken.has(k)) fail(R_EXTRA_FIELD, `${this.name(quote(k))} is not a field of this message`);
    }
  }
}

function range(min: number, max: number): string {
  if (max === Number.POSITIVE_INFINITY || max === Number.MAX_SAFE_INTEGER) return `>= ${min}`;
  return `in [${min}, ${max}]`;
}

export function num(
  v: unknown,
  path: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof v !== "number") fail(R_BAD_FIELD, `${path} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) fail(R_NON_FINITE, `${path} must be finite, got ${v}`);
  if (v < min || v > max) fail(R_OUT_OF_RANGE, `${path} must be ${range(min, max)}, got ${v}`);
  return v;
}

export function int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number") fail(R_BAD_FIELD, `${path} must be an integer, got ${describe(v)}`);
  if (!Number.isFinite(v)) fail(R_NON_FINITE, `${path} must be finite, got ${v}`);
  if (!Number.isInteger(v)) fail(R_BAD_FIELD, `${path} must be an integer, got ${v}`);
  if (v < min || v > max) fail(R_OUT_OF_RANGE, `${path} must be ${range(min, max)}, got ${v}`);
  return v;
}

export function str(v: unknown, path: string, maxChars: number): string {
  if (typeof v !== "string") fail(R_BAD_FIELD, `${path} must be a string, got ${describe(v)}`);
  if (v.length > maxChars) {
    fail(R_STRING_TOO_LONG, `${path} has ${v.length} characters, at most ${maxChars} allowed`);
  }
  return v;
}

const ID_PATTERN = /^[\x21-\x7b\x7d\x7e]+$/;

/** runId / from: 1..maxChars printable ASCII without spaces or "|" (the proof separator). */
export function ident(v: unknown, path: string, maxChars: number): string {
  const s = str(v, path, maxChars);
  if (!ID_PATTERN.test(s)) {
    fail(
      R_BAD_FIELD,
      `${path} must be 1..${maxChars} printable ASCII characters without "|", got ${quote(s)}`,
    );
  }
  return s;
}

export function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  const s = str(v, path, 64);
  if (!(values as readonly string[]).includes(s)) {
    fail(R_BAD_FIELD, `${path} must be one of ${values.join(", ")}, got ${quote(s)}`);
  }
  return s as T;
}

/** Binary field, still a view into the frame: callers copy what they keep. */
export function bytesView(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(R_BAD_FIELD, `${path} must be binary, got ${describe(v)}`);
  return v;
}

/** Binary field of exactly `length` bytes, copied out of the frame. */
export function bytesExact(v: unknown, path: string, length: number): Uint8Array {
  const view = bytesView(v, path);
  if (view.length !== length) fail(R_BAD_FIELD, `${path} must be ${length} bytes, got ${view.length}`);
  return new Uint8Array(view);
}

export function array(
  v: unknown,
  path: string,
  maxLength: number,
  tooMany: ReasonCode = R_OUT_OF_RANGE,
): unknown[] {
  if (!Array.isArray(v)) fail(R_BAD_FIELD, `${path} must be an array, got ${describe(v)}`);
  if (v.length > maxLength) fail(tooMany, `${path} has ${v.length} entries, at most ${maxLength} allowed`);
  return v;
}

export function nullable<T>(v: unknown, read: (v: unknown) => T): T | null {
  return v === null ? null : read(v);
}
