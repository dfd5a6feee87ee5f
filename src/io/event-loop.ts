// Lets timers, sockets and signal handlers run between two pieces of synchronous work (a generation
// evaluated in-process): one turn of the event loop, after pending I/O callbacks.
export const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
