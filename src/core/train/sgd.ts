// The optimiser of the gradient baselines, as PyTorch's torch.optim.SGD (no dampening, no Nesterov)
// and edge-popup's cosine_lr schedule (allenai/hidden-networks, utils/schedulers.py, no warm-up). Pure.
import type { Floats } from "./mlp.ts";

/** The learning rate of epoch `epoch` (0-based) of `epochs`: ½ (1 + cos(π · epoch / epochs)) · base, held for the epoch. */
export function cosineLr(base: number, epoch: number, epochs: number): number {
  return 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs)) * base;
}

export interface SgdSettings {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
}

/**
 * One step on `param` with gradient `grad` and momentum buffer `buffer` (zero before the first step),
 * in place: d = grad + weightDecay · param; buffer = momentum · buffer + d; param −= lr · buffer.
 * (PyTorch's first step sets buffer = d, which is the same from a zero buffer.)
 */
export function sgdStep(param: Floats, grad: Floats, buffer: Floats, s: SgdSettings): void {
  const { lr, momentum, weightDecay } = s;
  for (let k = 0; k < param.length; k++) {
    const d = grad[k] + weightDecay * param[k];
    const b = momentum * buffer[k] + d;
    buffer[k] = b;
    param[k] -= lr * b;
  }
}
