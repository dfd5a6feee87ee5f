// WebAssembly plumbing shared by the evaluator's kernels (simd-kernel.ts, score-kernel.ts): the few
// JS API types they use (the project's lib has no DOM types, which carry them) and assembly of the
// kernels' text-format sources by wabt. wabt is loaded once per process and once per worker thread,
// when this module is first imported (a small start-up cost, docs/performance.md § Why the kernels are
// shaped so), so no generated binary is kept in the repository.
import { createRequire } from "node:module";

export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}

/** The runtime's WebAssembly API, undefined where there is none (e.g. --jitless). */
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface Wabt {
  parseWat(
    name: string,
    text: string,
    features: object,
  ): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void };
}

async function loadWabt(): Promise<Wabt | string> {
  if (wasmApi === undefined) return "this runtime has no WebAssembly";
  try {
    const require = createRequire(import.meta.url);
    return await (require("wabt") as () => Promise<Wabt>)();
  } catch (e) {
    return `wabt could not be loaded: ${(e as Error).message}`;
  }
}

const wabt: Wabt | string = await loadWabt();

/** Why no kernel can be assembled at all, or null when assembly works. */
export function wasmUnavailableReason(): string | null {
  return typeof wabt === "string" ? wabt : null;
}

/**
 * The module of a text-format source with the given wabt features (e.g. { simd: true }), or null when
 * there is no WebAssembly or wabt, the text does not parse with those features, or the runtime does
 * not validate the result (e.g. no relaxed SIMD).
 */
export function assembleWat(name: string, text: string, features: object): WasmModule | null {
  if (typeof wabt === "string" || wasmApi === undefined) return null;
  let parsed: ReturnType<Wabt["parseWat"]>;
  try {
    parsed = wabt.parseWat(name, text, features);
  } catch {
    return null;
  }
  try {
    const bytes = parsed.toBinary({}).buffer;
    return wasmApi.validate(bytes) ? new wasmApi.Module(bytes) : null;
  } finally {
    parsed.destroy();
  }
}

/** An instance of `module` with `memory` as its "env"."memory" import; its exports. */
export function instantiate(module: WasmModule, memory: WasmMemory): Record<string, unknown> {
  if (wasmApi === undefined) throw new Error("this runtime has no WebAssembly");
  return new wasmApi.Instance(module, { env: { memory } }).exports;
}
