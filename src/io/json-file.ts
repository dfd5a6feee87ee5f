// A JSON file the user names (a config file, a hosts file, a sweep spec): read and parsed, or one error
// line that names the kind of file, its path and what went wrong. What the value must be is the
// caller's to check.
import { readFileSync } from "node:fs";
import { E_CONFIG, SltError } from "../core/errors.ts";

/** The parsed contents of `path`; `kind` names the file in errors ("config file", "hosts file"). */
export function readJsonFile(path: string, kind: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new SltError(E_CONFIG, `cannot read ${kind} ${path}: ${why}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SltError(E_CONFIG, `${kind} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
