// Host figures for island reports (CPU load, memory), sampled on a timer so that a report never waits
// for them: the island's event loop only turns between generations, and a CPU-usage reading takes two
// /proc/stat snapshots some 200 ms apart. The report reads the latest cached sample synchronously.
import { freemem, loadavg, totalmem } from "node:os";
import { OSUtils } from "node-os-utils";

/** One reading; null where the source could not tell. */
export interface HostSample {
  /** 1-minute load average (null where the OS has none, e.g. Windows) */
  readonly loadAverage: number | null;
  /** whole-host CPU use, 0–100 */
  readonly cpuPercent: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryTotalBytes: number | null;
}

/** Where samples come from; tests inject a fake. */
export interface HostStatsSource {
  sample(): Promise<HostSample>;
}

const finiteOrNull = (v: unknown, lo = 0, hi = Number.POSITIVE_INFINITY): number | null =>
  typeof v === "number" && Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : null;

/** What node:os tells at once, without a CPU reading: the sample before the first refresh. */
export function osSample(): HostSample {
  const total = totalmem();
  const load = loadavg()[0];
  return {
    // loadavg() is [0, 0, 0] on Windows, where it does not exist
    loadAverage: process.platform === "win32" ? null : finiteOrNull(load),
    cpuPercent: null,
    memoryUsedBytes: finiteOrNull(total - freemem()),
    memoryTotalBytes: finiteOrNull(total),
  };
}

/** node-os-utils (v2: every call resolves to {success, data} and never throws). */
export function osUtilsSource(): HostStatsSource {
  // its own cache would hand back stale readings between our refreshes
  const os = new OSUtils({ cacheEnabled: false });
  return {
    async sample() {
      const base = osSample();
      const [cpu, mem] = await Promise.all([os.cpu.usage(), os.memory.info()]);
      const total = mem.success ? finiteOrNull(mem.data.total.toBytes()) : base.memoryTotalBytes;
      const used = mem.success ? finiteOrNull(mem.data.used.toBytes(), 0, total ?? undefined) : null;
      return {
        loadAverage: base.loadAverage,
        cpuPercent: cpu.success ? finiteOrNull(cpu.data, 0, 100) : null,
        memoryUsedBytes: used ?? base.memoryUsedBytes,
        memoryTotalBytes: total,
      };
    },
  };
}

export interface HostStatsOptions {
  /** default: node-os-utils */
  readonly source?: HostStatsSource;
  /** default 2000 ms */
  readonly intervalMs?: number;
}

/** Refreshes a HostSample every `intervalMs` in the background; `latest()` never waits. */
export class HostStatsSampler {
  readonly #source: HostStatsSource;
  readonly #intervalMs: number;
  #latest: HostSample = osSample();
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;
  #stopped = false;

  constructor(options: HostStatsOptions = {}) {
    this.#source = options.source ?? osUtilsSource();
    this.#intervalMs = options.intervalMs ?? 2000;
  }

  /** Takes a first sample now and then one every interval; the timer never keeps the process alive. */
  start(): this {
    if (this.#timer !== null || this.#stopped) return this;
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#intervalMs);
    this.#timer.unref();
    return this;
  }

  /** The latest sample (node:os figures until the first refresh completes). */
  latest(): HostSample {
    return this.#latest;
  }

  /** One refresh; a refresh still running is joined, not doubled. A failing source keeps the old sample. */
  refresh(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    this.#inFlight = this.#source
      .sample()
      .then(
        (s) => {
          if (!this.#stopped) this.#latest = s;
        },
        () => {},
      )
      .finally(() => {
        this.#inFlight = null;
      });
    return this.#inFlight;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
