import { ValidationError } from '../errors.ts';

/**
 * How deep a JSON value a client may send: objects and arrays nested more than this are refused
 * before anything (zod, ajv, JSON.stringify, Prisma) walks them recursively, where a deep enough
 * value would overflow the stack and end as a masked internal error.
 */
export const MAX_JSON_DEPTH = 64;

interface Frame {
  readonly value: object;
  readonly depth: number;
  readonly key: string | number | null;
  readonly parent: Frame | null;
}

/**
 * Refuses a value whose objects and arrays nest deeper than `maxDepth` levels: a ValidationError
 * at `path` (extended by the keys down to where the limit is crossed) that states the limit.
 * Iterative, so any depth is checked without recursion; a scalar is depth 0, `{}` and `[]` depth 1.
 */
export function checkJsonDepth(value: unknown, path: readonly (string | number)[], maxDepth: number = MAX_JSON_DEPTH): void {
  if (typeof value !== 'object' || value === null) return;
  const stack: Frame[] = [{ value, depth: 1, key: null, parent: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) {
      const message = `${path.length > 0 ? path.join('.') : 'the value'} ${tooDeep(maxDepth)}`;
      throw new ValidationError(message, [{ path: locate(path, frame), message: tooDeep(maxDepth) }]);
    }
    const node = frame.value as Record<string, unknown> | unknown[];
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child = node[i];
        if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: frame.depth + 1, key: i, parent: frame });
      }
    } else {
      for (const key of Object.keys(node)) {
        const child = node[key];
        if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: frame.depth + 1, key, parent: frame });
      }
    }
  }
}

function tooDeep(maxDepth: number): string {
  return `nests deeper than ${maxDepth} levels (the limit for objects and arrays inside one another); flatten the value`;
}

/** The input path, then the keys from the value's root down to `frame`. */
function locate(path: readonly (string | number)[], frame: Frame): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let f: Frame | null = frame; f && f.key !== null; f = f.parent) keys.push(f.key);
  return [...path, ...keys.reverse()];
}
