import { describe, expect, it } from 'vitest';
import { nestingDepth } from '../../src/http/document-nesting.ts';
import { checkJsonDepth } from '../../src/services/json-limits.ts';
import { ValidationError } from '../../src/errors.ts';

describe('nestingDepth', () => {
  it('counts {, [ and ( outside strings, block strings and comments', () => {
    expect(nestingDepth('{ a(x: [1, [2]]) { b } }', 100)).toBe(4);
    expect(nestingDepth('{ a(x: "[[[[\\"[[[[") }', 100)).toBe(2);
    expect(nestingDepth('{ a(x: """ [[[ \\""" [[[ """) }', 100)).toBe(2);
    expect(nestingDepth('# {{{{\n{ a }', 100)).toBe(1);
    // Stops counting once past the limit: a huge document costs no more than its prefix.
    expect(nestingDepth('['.repeat(1_000_000), 200)).toBe(201);
  });
});

describe('checkJsonDepth', () => {
  it('accepts the limit, refuses one more, and names the path down to it', () => {
    let value: unknown = 1;
    for (let i = 0; i < 64; i++) value = [value];
    expect(() => checkJsonDepth(value, ['value'])).not.toThrow();
    const deeper = { tags: [value] };
    try {
      checkJsonDepth(deeper, ['input']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      const issue = (error as ValidationError).issues[0]!;
      expect(issue.path.slice(0, 4)).toEqual(['input', 'tags', 0, 0]);
      // The first object past the limit: 64 keys down from the root (which is level 1).
      expect(issue.path).toHaveLength(1 + 64);
      expect(issue.message).toMatch(/deeper than 64 levels/);
    }
  });
});
