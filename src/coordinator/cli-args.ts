// Parsers of command-line flag values, shared by every command. A value that does not parse throws
// commander's InvalidArgumentError, which names the flag; the CLI prints it as one E_CONFIG line. Ranges
// are the configuration schema's (or the command's settings check) to enforce, with their own messages.
import { InvalidArgumentError } from "commander";

/** A whole number, sign allowed. */
export function intArg(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return Number(value);
}

/** Any finite number; `expected` says what the flag takes, for the message. */
export function finiteArg(expected: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === "" || !Number.isFinite(v))
      throw new InvalidArgumentError(`expected ${expected}, got "${value}"`);
    return v;
  };
}
