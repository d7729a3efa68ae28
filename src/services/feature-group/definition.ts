import { z } from 'zod';
import { ValidationError, type InputIssue } from '../../errors.ts';
import {
  canonicalFeatureType,
  FEATURE_NAME,
  reservedNameProblem,
  isEventTimeType,
  isKeyType,
  type FeatureDef,
  type GroupSchema,
} from '../../domain/feature-types.ts';

/** Names of groups, views and models: lower case, digits and _, as Hopsworks stores them. */
export const OBJECT_NAME = /^[a-z][a-z0-9_]{0,62}$/;
const NAME_MESSAGE = 'lower-case letters, digits and _, starting with a letter, at most 63 characters';
const FEATURE_MESSAGE = 'lower-case letters, digits and _, not starting with a digit, at most 63 characters';

export const featureInput = z.object({
  name: z.string().regex(FEATURE_NAME, FEATURE_MESSAGE),
  type: z.string().min(1, 'must not be empty'),
  description: z.string().max(10_000).nullish(),
});

export const createFeatureGroupInput = z.object({
  name: z.string().regex(OBJECT_NAME, NAME_MESSAGE),
  version: z.number().int().min(1, 'versions start at 1').nullish(),
  description: z.string().max(10_000).nullish(),
  primaryKey: z.array(z.string().regex(FEATURE_NAME, FEATURE_MESSAGE)).min(1, 'give at least one primary-key feature'),
  eventTime: z.string().regex(FEATURE_NAME, FEATURE_MESSAGE).nullish(),
  onlineEnabled: z.boolean().nullish(),
  features: z.array(featureInput).min(1, 'give at least one feature, or omit features to infer them from the first insert').nullish(),
  statisticsConfig: z
    .unknown()
    .refine((v) => v == null || (typeof v === 'object' && !Array.isArray(v)), 'must be a JSON object')
    .nullish(),
  /** Groups this one is derived from (lineage); each the latest version when version is omitted. */
  parents: z
    .array(z.object({ name: z.string().min(1), version: z.number().int().min(1, 'versions start at 1').nullish() }))
    .max(100, 'at most 100 parents')
    .nullish(),
});
export type CreateFeatureGroupInput = z.input<typeof createFeatureGroupInput>;

/** The part of a group's definition that decides whether two definitions are the same group. */
export interface GroupDefinition {
  readonly primaryKey: readonly string[];
  readonly eventTime: string | null;
  readonly onlineEnabled: boolean;
  /** Null: not given (inferred on the first insert, or whatever the existing group has). */
  readonly features: readonly FeatureDef[] | null;
}

/**
 * Checks features, primary key and event time together and returns canonical features
 * (types normalized). Every problem is reported at once, each at its input path.
 */
export function checkDefinition(
  features: readonly { name: string; type: string; description?: string | null }[] | null,
  primaryKey: readonly string[],
  eventTime: string | null,
  root: (string | number)[] = ['input'],
): FeatureDef[] | null {
  const issues: InputIssue[] = [];
  const seenKey = new Set<string>();
  primaryKey.forEach((k, i) => {
    const reserved = reservedNameProblem(k);
    if (reserved && !features) issues.push({ path: [...root, 'primaryKey', i], message: reserved });
    if (seenKey.has(k)) issues.push({ path: [...root, 'primaryKey', i], message: `${k} is listed twice` });
    seenKey.add(k);
  });
  const reservedTime = eventTime ? reservedNameProblem(eventTime) : null;
  if (reservedTime && !features) issues.push({ path: [...root, 'eventTime'], message: reservedTime });
  if (eventTime && seenKey.has(eventTime)) {
    issues.push({ path: [...root, 'eventTime'], message: `${eventTime} is a primary-key feature; the event time must be another feature` });
  }
  if (!features) {
    if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
    return null;
  }
  const canonical: FeatureDef[] = [];
  const byName = new Map<string, FeatureDef>();
  features.forEach((f, i) => {
    if (byName.has(f.name)) {
      issues.push({ path: [...root, 'features', i, 'name'], message: `feature ${f.name} is defined twice` });
      return;
    }
    const reserved = reservedNameProblem(f.name);
    if (reserved) {
      issues.push({ path: [...root, 'features', i, 'name'], message: reserved });
      return;
    }
    try {
      const def = { name: f.name, type: canonicalFeatureType(f.type, [...root, 'features', i, 'type']), description: f.description ?? '' };
      canonical.push(def);
      byName.set(f.name, def);
    } catch (error) {
      if (error instanceof ValidationError) issues.push(...error.issues);
      else throw error;
    }
  });
  primaryKey.forEach((k, i) => {
    const f = byName.get(k);
    if (!f) {
      if (!issues.some((x) => x.path.includes('features'))) {
        issues.push({ path: [...root, 'primaryKey', i], message: `primary key ${k} is not one of the features` });
      }
    } else if (!isKeyType(f.type)) {
      issues.push({
        path: [...root, 'primaryKey', i],
        message: `primary key ${k} has type ${f.type}; keys must be BIGINT, INT, STRING, BOOLEAN, DATE, TIMESTAMP or DECIMAL`,
      });
    }
  });
  if (eventTime) {
    const f = byName.get(eventTime);
    if (!f) issues.push({ path: [...root, 'eventTime'], message: `event time ${eventTime} is not one of the features` });
    else if (!isEventTimeType(f.type)) {
      issues.push({ path: [...root, 'eventTime'], message: `event time ${eventTime} has type ${f.type}; it must be TIMESTAMP, DATE or BIGINT (epoch)` });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
  return canonical;
}

/** What differs between an existing definition and a requested one (empty: the same group). */
export function definitionDifferences(existing: GroupDefinition, requested: GroupDefinition): string[] {
  const diffs: string[] = [];
  if (JSON.stringify(existing.primaryKey) !== JSON.stringify(requested.primaryKey)) {
    diffs.push(`primaryKey is [${existing.primaryKey.join(', ')}], not [${requested.primaryKey.join(', ')}]`);
  }
  if (existing.eventTime !== requested.eventTime) {
    diffs.push(`eventTime is ${existing.eventTime ?? 'none'}, not ${requested.eventTime ?? 'none'}`);
  }
  if (existing.onlineEnabled !== requested.onlineEnabled) {
    diffs.push(`onlineEnabled is ${existing.onlineEnabled}, not ${requested.onlineEnabled}`);
  }
  if (existing.features && requested.features) {
    const shape = (fs: readonly FeatureDef[]) => fs.map((f) => `${f.name} ${f.type}`).join(', ');
    if (shape(existing.features) !== shape(requested.features)) {
      diffs.push(`features are (${shape(existing.features)}), not (${shape(requested.features)})`);
    }
  }
  return diffs;
}

/** The schema the stores work with; features empty until inferred. */
export function groupSchema(row: { features: unknown; primaryKey: unknown; eventTime: string | null }): GroupSchema {
  return {
    features: row.features as FeatureDef[],
    primaryKey: row.primaryKey as string[],
    eventTime: row.eventTime,
  };
}

/**
 * The features after `updateFeatureGroup` appends `appended` to a group's `features`: checked as a
 * whole definition, each problem put in `issues` at `input.appendFeatures.<index>`; the features
 * unchanged when there is a problem.
 */
export function checkDefinitionForAppend(
  features: FeatureDef[],
  appended: readonly { name: string; type: string; description?: string | null }[],
  group: { readonly primaryKey: unknown; readonly eventTime: string | null },
  issues: { path: (string | number)[]; message: string }[],
): FeatureDef[] {
  if (appended.length === 0) return features;
  try {
    return checkDefinition([...features, ...appended], group.primaryKey as string[], group.eventTime)!;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues) {
      const [, , index, ...rest] = issue.path;
      const path =
        typeof index === 'number' && index >= features.length ? ['input', 'appendFeatures', index - features.length, ...rest] : ['input', 'appendFeatures'];
      issues.push({ path, message: issue.message });
    }
    return features;
  }
}
