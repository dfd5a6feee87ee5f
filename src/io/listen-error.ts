// Why a server could not listen where it was told, in the words of a one-line error (the coordinator's
// --listen check and the dashboard's --dashboard say it alike).

/** The reason for a listen error's code (EADDRINUSE, EADDRNOTAVAIL, EACCES, ...). */
export function cannotListenReason(code: string): string {
  return code === "EADDRINUSE"
    ? "the port is in use by another process"
    : code === "EADDRNOTAVAIL"
      ? "the address is not one of this machine's"
      : code === "EACCES"
        ? "no permission to listen on this port"
        : `cannot listen there (${code})`;
}
