// kernel.ts's unrolled kernels are generated text kept as plain source: the committed text must be exactly
// what kernel-gen.ts generates, so that the generator and the kernels cannot drift apart.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BEGIN_MARKER,
  END_MARKER,
  GROUP,
  generatedKernels,
  generatedPart,
  withGenerated,
} from "../../src/evaluator/kernel-gen.ts";

const KERNEL = new URL("../../src/evaluator/kernel.ts", import.meta.url);
const source = readFileSync(KERNEL, "utf8");

describe("kernel.ts's generated kernels", () => {
  it("are exactly what kernel-gen.ts generates", () => {
    expect(generatedPart(source)).toBe(generatedKernels());
    expect(withGenerated(source, generatedKernels())).toBe(source);
  });

  it("cover every group size, both stores, and the dispatch", () => {
    const text = generatedKernels();
    for (let n = 1; n <= GROUP; n++) {
      for (const name of [`only${n}Relu`, `only${n}Raw`, `first${n}`]) {
        expect(text).toContain(`function ${name}(`);
        expect(text).toContain(`${name}(src, col, w, k0, `);
      }
    }
    expect(text).toContain(`function mid${GROUP}(`);
    expect(text).toContain("export function unitColumn(");
  });

  it("are found only between the two marker lines", () => {
    const edited = withGenerated(source, "function x() {}\n");
    expect(generatedPart(edited)).toBe("function x() {}\n");
    expect(edited.startsWith(source.slice(0, source.indexOf(BEGIN_MARKER)))).toBe(true);
    expect(edited.endsWith(source.slice(source.indexOf(END_MARKER)))).toBe(true);
    expect(() => generatedPart(source.replace(END_MARKER, "// end"))).toThrow(/lacks the lines/);
  });
});
