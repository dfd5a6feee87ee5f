// A run's live dashboard (`slt run --dashboard [HOST:]PORT`): opened before the run starts (a busy port
// is an E_CONFIG error before anything is made), fed every event the run writes (prepare.ts taps the run
// directory's appendEvent, the one place every event of either mode passes), closed with the run.
import { DashboardServer, parseDashboardAddress } from "../io/dashboard-server.ts";
import type { Logger } from "../io/log.ts";
import { dashboardFiles } from "../ui/dashboard-page.ts";

/** What a run hands its events to besides events.jsonl. */
export interface RunDashboard {
  /** the page's address without its token: recorded in the run's start (or resume) event */
  readonly address: string;
  publish(event: Record<string, unknown>): void;
}

/** Listens at `spec` and prints the page's address (with its token, when one is needed) on `out`. */
export async function openDashboard(
  spec: string,
  out: NodeJS.WritableStream,
  logger?: Logger,
): Promise<DashboardServer> {
  const address = parseDashboardAddress(spec);
  const server = await DashboardServer.listen({ ...address, files: dashboardFiles, logger });
  out.write(`dashboard: ${server.url}\n`);
  return server;
}
