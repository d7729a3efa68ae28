import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvErrors from 'ajv-errors';
import addFormats from 'ajv-formats';
import { compileLinearRegex, RegexSyntaxError } from '../../engine/linear-regex.ts';
import { ValidationError, type InputIssue } from '../../errors.ts';
import { checkJsonDepth } from '../json-limits.ts';

/**
 * Tag schemas are JSON Schemas, checked and applied with ajv: draft-07 by default, 2019-09 or
 * 2020-12 when `$schema` says so; `format` (date-time, email, uri, …) is checked, and a schema may
 * give its own messages with `errorMessage` (ajv-errors). Strict: an unknown keyword or format is
 * refused when the schema is created, rather than silently ignored when tags are checked.
 *
 * `pattern` and `patternProperties` run on RE2 (linear time), never on JavaScript's backtracking
 * RegExp: one project's pattern cannot stall the server. A pattern RE2 cannot run (lookaround,
 * backreferences) is refused when the schema is created, at its path.
 *
 * RE2 is linear, but its cost per character grows with the compiled program (`\p{L}{1000}` costs
 * a thousand times `a+`): a schema's patterns together may compile to at most
 * MAX_SCHEMA_PATTERN_PROGRAM instructions, and a tag value (tag.service) is at most
 * MAX_TAG_VALUE_BYTES of JSON, so checking one value costs at most about a tenth of a second.
 */
export const MAX_SCHEMA_PATTERN_PROGRAM = 2000;

/** Program instructions of the patterns of the schema being compiled (compiling is synchronous). */
const programBudget = { used: 0 };

/** ajv's regular expression engine: RE2 on the ECMAScript syntax JSON Schema patterns use. */
const re2: RegExpEngine = Object.assign(
  (pattern: string) => {
    const compiled = compileLinearRegex(pattern, 'ecmascript');
    programBudget.used += compiled.programSize;
    if (programBudget.used > MAX_SCHEMA_PATTERN_PROGRAM) {
      throw new RegexSyntaxError(
        pattern,
        `the schema's patterns are too complex: together they compile to more than ${MAX_SCHEMA_PATTERN_PROGRAM} RE2 instructions (the limit); use shorter repetition counts or fewer patterns`,
      );
    }
    return compiled;
  },
  // Only read when ajv prints standalone code, which Granary never does.
  { code: 'compileLinearRegex' },
);

type AjvInstance = InstanceType<typeof Ajv>;

function instance(Class: typeof Ajv | typeof Ajv2019 | typeof Ajv2020): AjvInstance {
  // strictTypes and strictTuples only warn (to the console); allErrors is what ajv-errors needs.
  const ajv = new Class({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    logger: false,
    code: { regExp: re2 },
  }) as AjvInstance;
  // CommonJS default exports: ESM sees module.exports, TypeScript the namespace with `default`.
  const plugin = (module: unknown) => ((module as { default?: unknown }).default ?? module) as (ajv: AjvInstance) => unknown;
  plugin(addFormats)(ajv);
  plugin(ajvErrors)(ajv);
  return ajv;
}

const DRAFTS: { match: RegExp; ajv: () => AjvInstance }[] = [
  { match: /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/, ajv: lazy(() => instance(Ajv)) },
  { match: /^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/, ajv: lazy(() => instance(Ajv2019)) },
  { match: /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/, ajv: lazy(() => instance(Ajv2020)) },
];

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** Compiled validators by tag schema id: schemas never change once created. */
const compiled = new Map<string, ValidateFunction>();
const MAX_COMPILED = 1000;

/**
 * Compiles a JSON Schema; a malformed one (not an object, unknown keyword or format, wrong
 * keyword value, unresolvable $ref) is a ValidationError at `path`.
 */
export function compileJsonSchema(schema: unknown, path: readonly (string | number)[] = ['schema']): ValidateFunction {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw ValidationError.at(path, 'a tag schema is a JSON Schema object, e.g. { "type": "string" }');
  }
  // ajv compiles recursively: refuse a value deep enough to overflow the stack first.
  checkJsonDepth(schema, path);
  const declared = (schema as AnySchemaObject).$schema;
  const draft = declared === undefined ? DRAFTS[0] : DRAFTS.find((d) => typeof declared === 'string' && d.match.test(declared));
  if (!draft) {
    throw ValidationError.at(
      [...path, '$schema'],
      `unsupported $schema ${JSON.stringify(declared)}: use draft-07, 2019-09 or 2020-12 (or leave it out for draft-07)`,
    );
  }
  const ajv = draft.ajv();
  programBudget.used = 0;
  try {
    return ajv.compile(schema as AnySchemaObject);
  } catch (error) {
    if (error instanceof RegexSyntaxError) {
      throw ValidationError.at(patternPath(schema, error.pattern, path), `pattern ${JSON.stringify(error.pattern)} cannot be used: ${error.reason}`);
    }
    throw ValidationError.at(path, `not a valid JSON Schema: ${(error as Error).message}`);
  } finally {
    // Forget it again, so another project's schema may use the same $id.
    ajv.removeSchema(schema as AnySchemaObject);
  }
}

/**
 * Where in `schema` a refused pattern is: the first `pattern` keyword with that value or
 * `patternProperties` with that key (iteratively; the schema's depth is already bounded).
 */
function patternPath(schema: object, pattern: string, root: readonly (string | number)[]): (string | number)[] {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value: schema, path: [...root] }];
  while (stack.length > 0) {
    const { value, path } = stack.shift()!;
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Record<string, unknown>;
    if (!Array.isArray(value)) {
      if (record.pattern === pattern) return [...path, 'pattern'];
      const properties = record.patternProperties;
      if (typeof properties === 'object' && properties !== null && Object.hasOwn(properties, pattern)) return [...path, 'patternProperties', pattern];
    }
    for (const [key, child] of Object.entries(record)) stack.push({ value: child, path: [...path, Array.isArray(value) ? Number(key) : key] });
  }
  return [...root];
}

/** The validator of a stored tag schema, compiled once per process. */
export function validatorFor(tagSchema: { id: string; schema: unknown }): ValidateFunction {
  let validate = compiled.get(tagSchema.id);
  if (!validate) {
    validate = compileJsonSchema(tagSchema.schema);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(tagSchema.id, validate);
  }
  return validate;
}

/**
 * Checks a value against a tag schema: nothing when it fits, else a ValidationError whose
 * message carries the schema's own messages, one issue per failure at `value.<path>`.
 */
export function checkTagValue(tagName: string, tagSchema: { id: string; schema: unknown }, value: unknown): void {
  const validate = validatorFor(tagSchema);
  if (validate(value)) return;
  const issues = (validate.errors ?? []).map(issueOf);
  const details = issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new ValidationError(`tag ${tagName} does not fit its schema: ${details}`, issues);
}

function issueOf(error: ErrorObject): InputIssue {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let message = error.message ?? `fails ${error.keyword}`;
  // ajv leaves the offending property out of these two messages; name it.
  if (error.keyword === 'additionalProperties') message += `: ${String((error.params as { additionalProperty?: string }).additionalProperty)}`;
  if (error.keyword === 'unevaluatedProperties') message += `: ${String((error.params as { unevaluatedProperty?: string }).unevaluatedProperty)}`;
  return { path: ['value', ...segments], message };
}

/** JSON with object keys sorted: equal values give equal text, however their keys were ordered. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
