import { RE2JS, RE2JSException } from 're2js';

/**
 * User-supplied regular expressions run on RE2 (re2js, a pure-JS port): matching takes time
 * linear in the input whatever the pattern, so a pattern like `^(a+)+$` cannot stall the event
 * loop the way a backtracking engine (JavaScript's RegExp) can. The price is RE2's syntax: no
 * lookahead, lookbehind or backreferences.
 *
 * Two dialects: `re2` is RE2's own syntax (what DuckDB's regexp functions run), `ecmascript`
 * the JavaScript syntax JSON Schema's `pattern` is written in (`\u00e9`, `\cA`, `[^]`), translated
 * to RE2 before compiling.
 */
export type RegexDialect = 're2' | 'ecmascript';

/** A compiled pattern: `test` says whether it matches somewhere in `input` (like RegExp.test). */
export interface LinearRegex {
  test(input: string): boolean;
  toString(): string;
  /**
   * Instructions of the compiled program: matching costs up to about this many steps per input
   * character (linear, but `\p{L}{1000}` is a thousand times slower than `a+`).
   */
  readonly programSize: number;
}

/** A pattern RE2 cannot run; `reason` says why, in the user's terms (no engine prefix). */
export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super(`pattern ${JSON.stringify(pattern)}: ${reason}`);
  }
}

const LOOKAROUND = /\(\?<?[=!]/;
// A backslash (not itself escaped) before 1-9 or k<name>.
const BACKREFERENCE = /(^|[^\\])(\\\\)*\\([1-9]|k<)/;

/** Compiles `pattern` for linear-time matching, or throws a RegexSyntaxError saying why it cannot. */
export function compileLinearRegex(pattern: string, dialect: RegexDialect): LinearRegex {
  if (LOOKAROUND.test(pattern)) throw new RegexSyntaxError(pattern, 'lookahead and lookbehind are not supported (RE2 syntax)');
  if (BACKREFERENCE.test(pattern)) throw new RegexSyntaxError(pattern, 'backreferences are not supported (RE2 syntax)');
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(dialect === 'ecmascript' ? RE2JS.translateRegExp(pattern) : pattern);
  } catch (error) {
    throw new RegexSyntaxError(pattern, `not a valid pattern (RE2 syntax): ${reasonOf(error)}`);
  }
  return { test: (input) => compiled.test(input), toString: () => `/${pattern}/${dialect}`, programSize: compiled.programSize() };
}

/** Why `pattern` cannot run on RE2, or null when it can. */
export function linearRegexProblem(pattern: string, dialect: RegexDialect): string | null {
  try {
    compileLinearRegex(pattern, dialect);
    return null;
  } catch (error) {
    if (error instanceof RegexSyntaxError) return error.reason;
    throw error;
  }
}

function reasonOf(error: unknown): string {
  // Anything but RE2's own syntax report (a stack overflow on an absurdly nested pattern) says
  // nothing useful to the user, and must not reach them.
  if (!(error instanceof RE2JSException)) return 'too large or too deeply nested';
  return error.message.replace(/^error parsing regexp: /, '');
}

/**
 * A SQL LIKE pattern as an RE2 pattern for a full match: `%` any run of characters, `_` one
 * character, everything else literal (no escape character, as in DuckDB without ESCAPE), newlines
 * included. DuckDB's own LIKE backtracks on `%` (`%a_%a_%a_%b` runs for minutes on a few
 * thousand characters); `regexp_full_match` with this pattern runs on RE2, in linear time.
 */
export function likeToRe2(pattern: string): string {
  let out = '(?s)';
  for (const c of pattern) {
    if (c === '%') out += '.*';
    else if (c === '_') out += '.';
    else out += /[\\.+*?()|[\]{}^$]/.test(c) ? `\\${c}` : c;
  }
  return out;
}
