import { ValidationError } from '../../errors.ts';

/** Validates a `first` argument: 1 to `max`, `fallback` when omitted. */
export function pageSize(first: number | null | undefined, fallback: number, max: number, arg = 'first'): number {
  if (first == null) return fallback;
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw ValidationError.at([arg], `${arg} must be between 1 and ${max}`);
  }
  return first;
}
