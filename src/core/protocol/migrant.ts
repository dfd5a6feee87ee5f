// Individuals ⇄ migrants. Both directions copy the mask, so an island never shares a mask with a
// message (or a message with a received frame). A migrant keeps its own metrics: the receiver takes
// the sender's accuracy and loss rather than re-evaluating.

import type { Individual } from "../ga/individual.ts";
import { cloneMask } from "../mask.ts";
import type { Migrant } from "./messages.ts";

/** A migrant carrying a copy of the individual's mask and its metrics. */
export function migrantFromIndividual(ind: Individual): Migrant {
  return {
    mask: cloneMask(ind.mask),
    hash: ind.hash,
    accuracy: ind.accuracy,
    loss: ind.loss,
    zeros: ind.zeros,
  };
}

/** An individual of origin "immigrant", born in generation `born`, with a copy of the migrant's mask. */
export function individualFromMigrant(m: Migrant, born: number): Individual {
  return {
    mask: cloneMask(m.mask),
    hash: m.hash,
    accuracy: m.accuracy,
    loss: m.loss,
    zeros: m.zeros,
    origin: "immigrant",
    born,
  };
}
