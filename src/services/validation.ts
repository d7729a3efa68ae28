import type { z } from 'zod';
import { ValidationError, issueMessage } from '../errors.ts';
import { checkJsonDepth } from './json-limits.ts';

/**
 * Parses a mutation input with zod; every problem becomes one issue whose path starts at
 * `input`, so the client sees exactly which field is wrong. A value nested deeper than the JSON
 * depth limit is refused first (zod walks it recursively).
 */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, root: string = 'input'): z.output<S> {
  checkJsonDepth(raw, [root]);
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: [root, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    message: issueMessage(issue),
  }));
  const first = issues[0]!;
  throw new ValidationError(`${first.path.join('.')}: ${first.message}`, issues);
}
