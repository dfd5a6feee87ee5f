// The reason a listen failed, as both --listen and --dashboard word it.
import { describe, expect, it } from "vitest";
import { cannotListenReason } from "../../src/io/listen-error.ts";

describe("cannotListenReason", () => {
  it("names the usual faults and passes others' codes through", () => {
    expect(cannotListenReason("EADDRINUSE")).toBe("the port is in use by another process");
    expect(cannotListenReason("EADDRNOTAVAIL")).toBe("the address is not one of this machine's");
    expect(cannotListenReason("EACCES")).toBe("no permission to listen on this port");
    expect(cannotListenReason("EMFILE")).toBe("cannot listen there (EMFILE)");
  });
});
