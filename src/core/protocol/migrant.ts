// Individuals ⇄ migrants. Masks are values: nothing outside core/mask.ts changes a mask in place (its
// mutating helpers only build new masks), so a migrant shares its individual's mask and an immigrant
// the migrant's. Frames never share memory with a mask: encode copies masks into the frame and decode
// copies each out into words of its own. (Copying here too cost two 0.8 MB copies per batch of 64 masks
// of 100,000 bits, and the garbage collections they caused set the migration latency's p99.)
// A migrant keeps its own metrics: the receiver takes the sender's accuracy and loss rather than
// re-evaluating.

import type { Individual } from "../ga/individual.ts";
import type { Migrant } from "./messages.ts";

/** A migrant carrying the individual's mask and metrics. */
export function migrantFromIndividual(ind: Individual): Migrant {
  return {
    mask: ind.mask,
    hash: ind.hash,
    accuracy: ind.accuracy,
    loss: ind.loss,
    zeros: ind.zeros,
  };
}

/** An individual of origin "immigrant", born in generation `born`, with the migrant's mask. */
export function individualFromMigrant(m: Migrant, born: number): Individual {
  return {
    mask: m.mask,
    hash: m.hash,
    accuracy: m.accuracy,
    loss: m.loss,
    zeros: m.zeros,
    origin: "immigrant",
    born,
  };
}
