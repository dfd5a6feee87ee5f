// Types of src/runtime.mjs (plain JavaScript so that old runtimes can run it).
export declare const MIN_NODE: string;
export declare const E_RUNTIME: "E_RUNTIME";
export declare function runtimeProblem(version: string, minimum?: string): string | null;
export declare function requireRuntime(version?: string): void;
