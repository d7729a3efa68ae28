import { ValidationError, type InputIssue } from '../../errors.ts';
import { FEATURE_NAME, parseFeatureType, reservedNameProblem, type GroupSchema, type ParsedType } from '../../domain/feature-types.ts';
import { filterable, normalizeValue, ordered } from './values.ts';

/**
 * A feature view's query: the left group (usually holding the labels), groups joined to it on keys
 * (point in time on event time), and row filters. `normalizeViewQuery` turns a user's input into a
 * ViewQuery (every default resolved, every name checked); `viewColumns` lists its output.
 *
 * Semantics decided here:
 * - Left selection: `features` (in the given order), or every feature except `exceptFeatures`
 *   (schema order), or every feature, primary key and event time included.
 * - Joined selection: `features` exactly as given; otherwise every feature of the joined group
 *   except `exceptFeatures`, its join keys (they equal the left keys) and its event time (the
 *   as-of join already bounds it by the left row's). Select them explicitly to have them.
 * - Join keys: `on` (same name on both sides) or `leftOn`/`rightOn` pairs; default the joined
 *   group's primary key matched by name in the left group. Left keys are features of the left
 *   group (not of an earlier join). The joined side must be exactly the joined group's primary key
 *   (any order): each left row then matches at most one row, and the online store, which is keyed
 *   by it, serves the same vector. Key types must match (INT and BIGINT match each other, and
 *   DECIMALs of any precision match each other).
 * - Output names: left features keep their names; a joined feature is `prefix + name`. Two equal
 *   output names are an error naming both sources, to be fixed with a prefix.
 * - Filters name output features. Comparisons follow SQL: a null feature value satisfies no filter
 *   except `EQ null` (IS NULL); `NE null` is IS NOT NULL. LT/LE/GT/GE need an ordered type (not
 *   BOOLEAN); LIKE needs STRING; IN takes a non-empty list; ARRAY and BINARY features cannot be
 *   filtered. Values are stored canonical (timestamps as ISO UTC text with microseconds).
 */

/** A resolved feature group version. */
export interface GroupRef {
  readonly name: string;
  readonly version: number;
}

export type JoinType = 'LEFT' | 'INNER';
export const FILTER_OPS = ['EQ', 'NE', 'LT', 'LE', 'GT', 'GE', 'IN', 'LIKE'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

/** A group of the query and its selected features (names in the group), in output order. */
export interface ViewGroupSelection {
  readonly group: GroupRef;
  readonly schema: GroupSchema;
  readonly features: readonly string[];
}

/** A pair of join keys: a feature of the left group and one of the joined group. */
export interface JoinKey {
  readonly left: string;
  readonly right: string;
}

export interface ViewJoin extends ViewGroupSelection {
  readonly on: readonly JoinKey[];
  readonly type: JoinType;
  /** Prepended to the joined group's feature names in the output; null for none. */
  readonly prefix: string | null;
}

export interface ViewFilter {
  /** An output feature name. */
  readonly feature: string;
  readonly op: FilterOp;
  /** Canonical value: a scalar, null (EQ/NE only), or a list for IN. */
  readonly value: unknown;
}

/** A normalized, validated feature view query (JSON-safe: what the registry stores). */
export interface ViewQuery {
  readonly left: ViewGroupSelection;
  readonly joins: readonly ViewJoin[];
  readonly filters: readonly ViewFilter[];
}

/** One output column of a view: its name, feature type and where it comes from. */
export interface ViewColumn {
  readonly name: string;
  readonly type: string;
  readonly group: GroupRef;
  readonly feature: string;
}

/** A group reference as users give it: omitting the version means the latest. */
export interface GroupRefInput {
  readonly name: string;
  readonly version?: number | null;
}

export interface ViewJoinInput {
  readonly featureGroup: GroupRefInput;
  readonly features?: readonly string[] | null;
  readonly exceptFeatures?: readonly string[] | null;
  readonly on?: readonly string[] | null;
  readonly leftOn?: readonly string[] | null;
  readonly rightOn?: readonly string[] | null;
  readonly type?: string | null;
  readonly prefix?: string | null;
}

export interface ViewFilterInput {
  readonly feature: string;
  readonly op: string;
  readonly value?: unknown;
}

/** A view query as users write it (CreateFeatureViewInput.query). */
export interface ViewQueryInput {
  readonly featureGroup: GroupRefInput;
  readonly features?: readonly string[] | null;
  readonly exceptFeatures?: readonly string[] | null;
  readonly joins?: readonly ViewJoinInput[] | null;
  readonly filters?: readonly ViewFilterInput[] | null;
}

/** A group the query may name, resolved by the caller (the service reads them from the registry). */
export interface ResolvedGroup {
  readonly group: GroupRef;
  readonly schema: GroupSchema;
}

/**
 * Finds a group by reference: a function, or a list of candidates (a reference without version
 * picks the highest version listed). Null or undefined: not found.
 */
export type GroupLookup = ((ref: GroupRefInput) => ResolvedGroup | null | undefined) | readonly ResolvedGroup[];

export interface NormalizeOptions {
  /** Path of the query in the caller's input, prefixed to every issue; default `['input', 'query']`. */
  readonly path?: readonly (string | number)[];
}

/** The key of a group in maps (e.g. the files handed to compileViewSql). */
export function groupKey(ref: GroupRef): string {
  return `${ref.name}@${ref.version}`;
}

const groupText = (ref: GroupRef) => `${ref.name} version ${ref.version}`;

function lookupGroup(lookup: GroupLookup, ref: GroupRefInput): ResolvedGroup | null {
  if (typeof lookup === 'function') return lookup(ref) ?? null;
  let best: ResolvedGroup | null = null;
  for (const candidate of lookup as readonly ResolvedGroup[]) {
    if (candidate.group.name !== ref.name) continue;
    if (ref.version != null) {
      if (candidate.group.version === ref.version) return candidate;
    } else if (best === null || candidate.group.version > best.group.version) {
      best = candidate;
    }
  }
  return best;
}

const MAX_ISSUES = 20;

/** Integer-valued types match each other as join keys, and so do decimals. */
function keyFamily(type: ParsedType): string {
  if (type.kind === 'decimal') return 'DECIMAL';
  if (type.kind === 'scalar' && (type.name === 'INT' || type.name === 'BIGINT')) return 'INTEGER';
  return JSON.stringify(type);
}

function strings(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

type Path = readonly (string | number)[];

/** Where the issues of one normalization go, and the groups its references resolve against. */
interface Checker {
  readonly groups: GroupLookup;
  /** Records an issue at `path` under the query's root path. */
  readonly issue: (path: Path, message: string) => void;
}

/** The left group as resolved, with its selected features; null members after a reported issue. */
interface LeftSide {
  readonly group: ResolvedGroup | null;
  readonly features: string[] | null;
  /** Feature name → type, of every feature of the left group. */
  readonly types: ReadonlyMap<string, string>;
}

/** Output name → where it comes from, for clash messages. */
type Outputs = Map<string, { type: string; source: string; feature: string }>;

/** A join key pair with the input paths to blame for each side. */
interface KeyPair {
  readonly left: string;
  readonly right: string;
  readonly leftPath: (string | number)[];
  readonly rightPath: (string | number)[];
}

/**
 * Validates a user's view query against the groups it names and returns it normalized. Throws a
 * ValidationError whose issues name each culprit by path (under `options.path`, default
 * `['input', 'query']`), e.g. `['input', 'query', 'joins', 0, 'on']`.
 */
export function normalizeViewQuery(input: ViewQueryInput, groups: GroupLookup, options: NormalizeOptions = {}): ViewQuery {
  const root = options.path ?? ['input', 'query'];
  const issues: InputIssue[] = [];
  const checker: Checker = {
    groups,
    issue: (path, message) => {
      issues.push({ path: [...root, ...path], message });
    },
  };

  const left = normalizeLeft(checker, input);
  const outputs: Outputs = new Map();
  if (left.group && left.features) addLeftOutputs(checker, left.group, left.features, left.types, outputs);

  const joins: ViewJoin[] = [];
  const joinInputs = input?.joins ?? [];
  if (!Array.isArray(joinInputs)) checker.issue(['joins'], 'joins must be a list');
  (Array.isArray(joinInputs) ? joinInputs : []).forEach((join: ViewJoinInput, j) => {
    const normalized = normalizeJoin(checker, join, ['joins', j], left, outputs);
    if (normalized) joins.push(normalized);
  });

  if (left.group && left.features && issues.length === 0 && outputs.size === 0) checker.issue(['features'], 'the query selects no features');

  const filters: ViewFilter[] = [];
  const filterInputs = input?.filters ?? [];
  if (!Array.isArray(filterInputs)) checker.issue(['filters'], 'filters must be a list');
  (Array.isArray(filterInputs) ? filterInputs : []).forEach((filter: ViewFilterInput, i) => {
    if (!left.group || !left.features) return;
    const normalized = normalizeFilter(checker, filter, ['filters', i], outputs);
    if (normalized) filters.push(normalized);
  });

  if (issues.length > 0) {
    const capped = issues.slice(0, MAX_ISSUES);
    const head = capped[0]!.message;
    throw new ValidationError(capped.length === 1 ? head : `${issues.length} problems in the query, first: ${head}`, capped);
  }
  return { left: { group: left.group!.group, schema: left.group!.schema, features: left.features! }, joins, filters };
}

function resolveGroup(checker: Checker, ref: GroupRefInput | undefined, path: Path): ResolvedGroup | null {
  if (!ref || typeof ref.name !== 'string') {
    checker.issue(path, 'a feature group reference { name, version } is required');
    return null;
  }
  const found = lookupGroup(checker.groups, ref);
  if (!found) checker.issue(path, `feature group ${ref.version == null ? `${ref.name} (latest)` : `${ref.name} version ${ref.version}`} not found`);
  return found;
}

/** The features a selection names, or those a group has less the excluded ones; null after reporting issues. */
function selectFeatures(
  checker: Checker,
  resolved: ResolvedGroup,
  spec: { features?: readonly string[] | null; exceptFeatures?: readonly string[] | null },
  path: Path,
  implicitlyExcluded: ReadonlySet<string>,
): string[] | null {
  const names = new Set(resolved.schema.features.map((f) => f.name));
  const where = groupText(resolved.group);
  if (spec.features != null && spec.exceptFeatures != null) {
    checker.issue([...path, 'exceptFeatures'], 'give features or exceptFeatures, not both');
    return null;
  }
  if (spec.features != null) return selectListed(checker, spec.features, names, where, path);
  const except = spec.exceptFeatures ?? [];
  if (!strings(except)) {
    checker.issue([...path, 'exceptFeatures'], 'exceptFeatures must be a list of feature names');
    return null;
  }
  let ok = true;
  except.forEach((name, i) => {
    if (!names.has(name)) {
      checker.issue([...path, 'exceptFeatures', i], `no feature "${name}" in feature group ${where}`);
      ok = false;
    }
  });
  if (!ok) return null;
  const excluded = new Set([...except, ...implicitlyExcluded]);
  return resolved.schema.features.map((f) => f.name).filter((name) => !excluded.has(name));
}

/** A `features` list checked against the group's feature names; null after reporting issues. */
function selectListed(checker: Checker, features: readonly string[], names: ReadonlySet<string>, where: string, path: Path): string[] | null {
  if (!strings(features)) {
    checker.issue([...path, 'features'], 'features must be a list of feature names');
    return null;
  }
  const seen = new Set<string>();
  let ok = true;
  features.forEach((name, i) => {
    if (!names.has(name)) {
      checker.issue([...path, 'features', i], `no feature "${name}" in feature group ${where}`);
      ok = false;
    } else if (seen.has(name)) {
      checker.issue([...path, 'features', i], `feature "${name}" is selected twice`);
      ok = false;
    }
    seen.add(name);
  });
  return ok ? [...features] : null;
}

function normalizeLeft(checker: Checker, input: ViewQueryInput): LeftSide {
  const group = resolveGroup(checker, input?.featureGroup, ['featureGroup']);
  const features = group ? selectFeatures(checker, group, input, [], new Set()) : null;
  const types = new Map(group?.schema.features.map((f) => [f.name, f.type]) ?? []);
  return { group, features, types };
}

function addLeftOutputs(checker: Checker, group: ResolvedGroup, features: readonly string[], types: ReadonlyMap<string, string>, outputs: Outputs): void {
  for (const name of features) {
    // A group made before such names were refused: its feature cannot be an output column.
    const reserved = reservedNameProblem(name);
    if (reserved) checker.issue(['features'], `${reserved}: leave ${name} of ${group.group.name} out (exceptFeatures)`);
    else outputs.set(name, { type: types.get(name)!, source: `${name} from ${group.group.name}`, feature: name });
  }
}

/** One join, normalized, its outputs added to `outputs`; null after reporting issues. */
function normalizeJoin(checker: Checker, join: ViewJoinInput, path: Path, left: LeftSide, outputs: Outputs): ViewJoin | null {
  const right = resolveGroup(checker, join?.featureGroup, [...path, 'featureGroup']);
  if (!right || !join) return null;
  const type = joinType(checker, join, path);
  const { prefix, ok: prefixOk } = joinPrefix(checker, join, path);
  const pairs = keyPairs(checker, join, path, left, right);
  const keys = pairs ? checkKeys(checker, pairs, path, left, right) : null;

  // Selection: keys and event time of the joined group are left out unless named in `features`
  // (the keys as given even when invalid, so that one mistake is reported once).
  const rightKeys = pairs ? pairs.map((p) => p.right) : right.schema.primaryKey;
  const implicit = new Set([...rightKeys, ...(right.schema.eventTime ? [right.schema.eventTime] : [])]);
  const features = selectFeatures(checker, right, join, path, implicit);
  if (features && left.group && left.features && prefixOk) addJoinOutputs(checker, right, features, prefix, path, outputs);
  return keys && features ? { group: right.group, schema: right.schema, features, on: keys, type, prefix } : null;
}

function joinType(checker: Checker, join: ViewJoinInput, path: Path): JoinType {
  if (join.type == null) return 'LEFT';
  if (join.type === 'LEFT' || join.type === 'INNER') return join.type;
  checker.issue([...path, 'type'], `unknown join type "${String(join.type)}": LEFT or INNER`);
  return 'LEFT';
}

function joinPrefix(checker: Checker, join: ViewJoinInput, path: Path): { prefix: string | null; ok: boolean } {
  if (join.prefix == null || join.prefix === '') return { prefix: null, ok: true };
  if (typeof join.prefix !== 'string' || !/^[a-z_][a-z0-9_]*$/.test(join.prefix)) {
    checker.issue([...path, 'prefix'], `invalid prefix ${JSON.stringify(join.prefix)}: lower-case letters, digits and _, not starting with a digit`);
    return { prefix: null, ok: false };
  }
  return { prefix: join.prefix, ok: true };
}

/** The key pairs a join gives (`on`, `leftOn`/`rightOn`, or the joined group's primary key by name); null after reporting issues. */
function keyPairs(checker: Checker, join: ViewJoinInput, path: Path, left: LeftSide, right: ResolvedGroup): KeyPair[] | null {
  const hasOn = join.on != null;
  const hasLeftRight = join.leftOn != null || join.rightOn != null;
  if (hasOn && hasLeftRight) {
    checker.issue([...path, 'on'], 'give on, or leftOn and rightOn, not both');
    return null;
  }
  if (hasOn) {
    if (!strings(join.on) || join.on.length === 0) {
      checker.issue([...path, 'on'], 'on must be a non-empty list of feature names');
      return null;
    }
    return join.on.map((name, i) => ({ left: name, right: name, leftPath: [...path, 'on', i], rightPath: [...path, 'on', i] }));
  }
  if (hasLeftRight) {
    if (!strings(join.leftOn) || join.leftOn.length === 0) {
      checker.issue([...path, 'leftOn'], 'leftOn must be a non-empty list of left group features, paired with rightOn');
      return null;
    }
    if (!strings(join.rightOn) || join.rightOn.length !== join.leftOn.length) {
      checker.issue([...path, 'rightOn'], `rightOn must list as many features as leftOn (${join.leftOn.length})`);
      return null;
    }
    const rightOn = join.rightOn;
    return join.leftOn.map((name, i) => ({ left: name, right: rightOn[i]!, leftPath: [...path, 'leftOn', i], rightPath: [...path, 'rightOn', i] }));
  }
  const missing = right.schema.primaryKey.filter((k) => left.group && !left.types.has(k));
  if (missing.length > 0) {
    checker.issue(
      [...path, 'on'],
      `the left group ${leftText(left)} has no feature ${missing.map((k) => `"${k}"`).join(', ')} to match the primary key of ${groupText(right.group)}; give on, or leftOn and rightOn`,
    );
    return null;
  }
  return right.schema.primaryKey.map((k) => ({ left: k, right: k, leftPath: [...path, 'on'], rightPath: [...path, 'on'] }));
}

/** Checks key pairs: features of each side, the joined group's whole primary key once, matching types. Null after reporting issues. */
function checkKeys(checker: Checker, pairs: readonly KeyPair[], path: Path, left: LeftSide, right: ResolvedGroup): JoinKey[] | null {
  const rightTypes = new Map(right.schema.features.map((f) => [f.name, f.type]));
  const rightText = groupText(right.group);
  const primaryKey = right.schema.primaryKey.join(', ');
  let ok = true;
  const seenRight = new Set<string>();
  for (const p of pairs) {
    if (left.group && !left.types.has(p.left)) {
      checker.issue(p.leftPath, `join key "${p.left}" is not a feature of the left group ${leftText(left)}`);
      ok = false;
    }
    if (!rightTypes.has(p.right)) {
      checker.issue(p.rightPath, `join key "${p.right}" is not a feature of the joined group ${rightText}`);
      ok = false;
    } else if (!right.schema.primaryKey.includes(p.right)) {
      checker.issue(
        p.rightPath,
        `join key "${p.right}" is not in the primary key of ${rightText} (${primaryKey}): a join matches the joined group's primary key`,
      );
      ok = false;
    }
    if (seenRight.has(p.right)) {
      checker.issue(p.rightPath, `join key "${p.right}" is given twice`);
      ok = false;
    }
    seenRight.add(p.right);
    const lt = left.types.get(p.left);
    const rt = rightTypes.get(p.right);
    if (lt && rt && keyFamily(parseFeatureType(lt)) !== keyFamily(parseFeatureType(rt))) {
      checker.issue(p.leftPath, `join key types differ: "${p.left}" is ${lt} in ${leftText(left)} but "${p.right}" is ${rt} in ${rightText}`);
      ok = false;
    }
  }
  const uncovered = right.schema.primaryKey.filter((k) => !seenRight.has(k));
  if (ok && uncovered.length > 0) {
    checker.issue(
      pairs[0]!.rightPath.slice(0, path.length + 1),
      `the join does not match ${uncovered.map((k) => `"${k}"`).join(', ')} of the primary key of ${rightText} (${primaryKey}): a join matches the joined group's whole primary key`,
    );
    ok = false;
  }
  return ok ? pairs.map((p) => ({ left: p.left, right: p.right })) : null;
}

/** Adds a join's selected features to `outputs` under their prefixed names, reporting clashes and invalid names. */
function addJoinOutputs(checker: Checker, right: ResolvedGroup, features: readonly string[], prefix: string | null, path: Path, outputs: Outputs): void {
  const rightTypes = new Map(right.schema.features.map((f) => [f.name, f.type]));
  for (const name of features) {
    const output = `${prefix ?? ''}${name}`;
    const source = `${name} from ${right.group.name}`;
    const clash = outputs.get(output);
    if (clash) {
      checker.issue(
        [...path, 'prefix'],
        prefix === null
          ? `${clash.source} and ${source}: give a prefix`
          : `${clash.source} and ${source} (prefix "${prefix}") are both named "${output}": choose another prefix`,
      );
    } else if (!FEATURE_NAME.test(output)) {
      checker.issue([...path, 'prefix'], `output name "${output}" is longer than 63 characters: choose a shorter prefix`);
    } else if (reservedNameProblem(output)) {
      checker.issue(
        prefix === null ? [...path, 'features'] : [...path, 'prefix'],
        `${reservedNameProblem(output)}${prefix === null ? `: leave ${name} of ${right.group.name} out (exceptFeatures)` : `: choose another prefix than "${prefix}"`}`,
      );
    } else {
      outputs.set(output, { type: rightTypes.get(name)!, source: prefix === null ? source : `${source} (as ${output})`, feature: name });
    }
  }
}

/** One filter, its value checked against the output feature's type; null after reporting an issue. */
function normalizeFilter(checker: Checker, filter: ViewFilterInput, path: Path, outputs: Outputs): ViewFilter | null {
  const output = outputs.get(filter?.feature);
  if (!output) {
    const hint = [...outputs].find(([, o]) => o.feature === filter?.feature)?.[0];
    checker.issue(
      [...path, 'feature'],
      `no output feature "${String(filter?.feature)}"${hint ? ` (filters name output features: did you mean "${hint}"?)` : ''}`,
    );
    return null;
  }
  const op = filter.op as FilterOp;
  if (!FILTER_OPS.includes(op)) {
    checker.issue([...path, 'op'], `unknown filter op "${String(filter.op)}": one of ${FILTER_OPS.join(', ')}`);
    return null;
  }
  const type = parseFeatureType(output.type);
  const name = filter.feature;
  if (!filterable(type)) {
    checker.issue([...path, 'feature'], `"${name}" is ${output.type}: features of this type cannot be filtered`);
    return null;
  }
  const value = filter.value;
  const bad = (message: string) => {
    checker.issue([...path, 'value'], message);
    return null;
  };
  if (value === null || value === undefined) {
    return op === 'EQ' || op === 'NE' ? { feature: name, op, value: null } : bad(`${op} needs a value (only EQ and NE compare with null)`);
  }
  if (op === 'IN') return inFilter(type, name, value, bad);
  if (op === 'LIKE') {
    if (!(type.kind === 'scalar' && type.name === 'STRING')) {
      checker.issue([...path, 'op'], `LIKE needs a STRING feature; "${name}" is ${output.type}`);
      return null;
    }
    if (typeof value !== 'string') return bad('LIKE needs a string pattern');
    return { feature: name, op, value };
  }
  if (op !== 'EQ' && op !== 'NE' && !ordered(type)) {
    checker.issue([...path, 'op'], `${op} needs an ordered type; "${name}" is ${output.type} (use EQ or NE)`);
    return null;
  }
  const checked = normalizeValue(type, value);
  if (!checked.ok) return bad(checked.message);
  return { feature: name, op, value: checked.value };
}

/** An IN filter: a non-empty list of non-null values, each checked against the feature's type. */
function inFilter(type: ParsedType, feature: string, list: unknown, fail: (message: string) => null): ViewFilter | null {
  if (!Array.isArray(list) || list.length === 0) return fail('IN needs a non-empty list of values');
  const values: unknown[] = [];
  for (const [k, element] of list.entries()) {
    if (element === null || element === undefined) return fail(`IN list element ${k} is null: null matches nothing (use EQ null)`);
    const checked = normalizeValue(type, element);
    if (!checked.ok) return fail(`IN list element ${k}: ${checked.message}`);
    values.push(checked.value);
  }
  return { feature, op: 'IN', value: values };
}

function leftText(left: LeftSide): string {
  return left.group ? groupText(left.group.group) : 'the left group';
}

/** The output columns of a query: the left group's selected features, then each join's. */
export function viewColumns(query: ViewQuery): ViewColumn[] {
  const column = (selection: ViewGroupSelection, prefix: string | null) =>
    selection.features.map((feature) => ({
      name: `${prefix ?? ''}${feature}`,
      type: selection.schema.features.find((f) => f.name === feature)!.type,
      group: selection.group,
      feature,
    }));
  return [...column(query.left, null), ...query.joins.flatMap((join) => column(join, join.prefix))];
}
