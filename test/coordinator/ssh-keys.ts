// Key pairs for the SSH tests. ssh2 (1.17) generates about 1 key in 300 that its own parseKey then calls
// "Malformed OpenSSH private key" (ed25519, with or without a passphrase): a test handed such a key
// fails for a reason that has nothing to do with what it tests, so these keys are generated until ssh2
// reads them back.
import { utils } from "ssh2";

type Options = { bits?: number; passphrase?: string; cipher?: string; rounds?: number };

/** A key pair of `type` that ssh2 parses back (with its passphrase, if it has one). */
export function keyPair(
  type: "ed25519" | "ecdsa" = "ed25519",
  options: Options = {},
): { private: string; public: string } {
  for (;;) {
    // ssh2's types want a literal type with each option set; the options are passed through as given
    const pair = utils.generateKeyPairSync(type as "ed25519", options as never);
    if (!(utils.parseKey(pair.private, options.passphrase) instanceof Error)) return pair;
  }
}
