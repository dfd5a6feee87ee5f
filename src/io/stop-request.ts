// Requests from outside to stop a run: SIGINT (Ctrl-C), SIGTERM (kill, timeout, systemd, SLURM), SIGHUP
// (the terminal or session went away), and the loss of the `slt` launcher (bin/slt.mjs), whose IPC
// channel closes however it ends, SIGKILL included. Each asks the run to stop after the current
// generation and write its ticket. A second SIGINT aborts at once (exit 130): a person pressing Ctrl-C
// again. A second SIGTERM or SIGHUP is the same request again: supervisors may send one to every process
// of the run, and they escalate with SIGKILL, not with another SIGTERM.

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Calls `stop` once, on the first stop request; see above. */
export function onStopRequest(stop: () => void, log = (line: string) => process.stderr.write(line)): void {
  let requested = false;
  const request = (cause: string) => {
    if (requested) return;
    requested = true;
    log(`slt: ${cause}: stopping after this generation and writing the ticket (Ctrl-C again to abort)\n`);
    stop();
  };
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (signal === "SIGINT" && requested) {
        log("slt: aborted; no ticket written\n");
        process.exit(130);
      }
      request(signal);
    });
  }
  if (process.channel) {
    process.channel.unref(); // the channel alone must not keep the run alive
    process.once("disconnect", () => request("the slt launcher is gone"));
  }
}
