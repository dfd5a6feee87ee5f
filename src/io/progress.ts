// Progress lines on stderr while a search runs: at most a few per second, plus the final one,
// so long runs stay readable and short runs stay quiet.
export interface ProgressLine {
  generation: number;
  bestFitness: number;
  fitness: "accuracy" | "loss";
  bestAccuracy: number;
  sparsity: number;
  evaluations: number;
}

export function createProgress(stream: NodeJS.WritableStream, enabled: boolean, intervalMs = 1000) {
  const start = performance.now();
  let last = Number.NEGATIVE_INFINITY;
  let lastGeneration = -1;
  return (p: ProgressLine, force = false): void => {
    if (!enabled) return;
    const now = performance.now();
    if ((!force && now - last < intervalMs) || p.generation === lastGeneration) return;
    last = now;
    lastGeneration = p.generation;
    const seconds = (now - start) / 1000;
    const rate = seconds > 0 ? Math.round(p.evaluations / seconds) : 0;
    const fit =
      p.fitness === "loss"
        ? `loss ${p.bestFitness.toFixed(5)}  acc ${p.bestAccuracy.toFixed(4)}`
        : `acc ${p.bestAccuracy.toFixed(4)}`;
    stream.write(
      `gen ${String(p.generation).padStart(5)}  best ${fit}  sparsity ${p.sparsity.toFixed(3)}  evals ${p.evaluations}  ${rate} evals/s  ${seconds.toFixed(1)}s\n`,
    );
  };
}
