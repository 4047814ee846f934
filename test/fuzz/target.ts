/** What a fuzz target module provides. */
import { TapgateError, type ErrorCode } from '../../src/errors.ts';
import type { Prng } from './prng.ts';
import type { Seeds } from './seeds.ts';

export interface Target {
  readonly name: string;
  /** What it covers (printed by `--list`). */
  readonly about: string;
  /** Seed inputs, in this target's input encoding. */
  seeds(corpus: Seeds): Buffer[];
  /** One mutated input from `input` (a seed or an earlier input); `other` is a splice partner. */
  mutate(rng: Prng, input: Buffer, other: Buffer): Buffer;
  /** Drives the real code on one input; throws on a broken invariant. */
  run(input: Buffer): void | Promise<void>;
  /** TapgateError codes the code under test documents for bad input (not crashes). */
  readonly allowedErrors?: readonly ErrorCode[];
}

/** True when `e` is an error the target documents (a TapgateError with an allowed code). */
export function isAllowedError(target: Target, e: unknown): boolean {
  return e instanceof TapgateError && (target.allowedErrors ?? []).includes(e.code);
}
