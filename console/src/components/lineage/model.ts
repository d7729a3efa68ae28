// What the lineage page knows about the objects of a lineage graph: their kinds, their pages in
// the console, and how they are named for people. No React, no graph library.

import { KIND_LABELS, type ObjectKind, objectHref } from '../../links.ts';

export type LineageKind = ObjectKind;

/** One object of a lineage graph, as the API returns it. */
export interface LineageObject {
  readonly id: string;
  readonly kind: LineageKind;
  readonly name: string;
  readonly version: number;
  readonly deleted: boolean;
  readonly deletedAt: string | null;
}

/** A link of a lineage graph: `to` was made from `from` (global ids). */
export interface LineageLink {
  readonly from: string;
  readonly to: string;
}

export const KIND_LABEL: Record<LineageKind, string> = Object.fromEntries(
  Object.entries(KIND_LABELS).map(([kind, label]) => [kind, label.toLowerCase()]),
) as Record<LineageKind, string>;

/** The kinds a lineage can start from (the API refuses jobs and data sources as roots). */
export const ROOT_KINDS = ['MODEL', 'TRAINING_DATASET', 'FEATURE_VIEW', 'FEATURE_GROUP'] as const satisfies readonly LineageKind[];
export type RootKind = (typeof ROOT_KINDS)[number];

export function isRootKind(kind: string): kind is RootKind {
  return (ROOT_KINDS as readonly string[]).includes(kind);
}

/** Jobs, data sources and deployments have no versions (the API says 1): their version is not shown. */
export function hasVersions(kind: LineageKind): boolean {
  return kind !== 'JOB' && kind !== 'DATA_SOURCE' && kind !== 'DEPLOYMENT';
}

/** `churn_feature_view version 1`, or a job's or data source's bare name. */
export function objectLabel(node: Pick<LineageObject, 'kind' | 'name' | 'version'>): string {
  return hasVersions(node.kind) ? `${node.name} version ${node.version}` : node.name;
}

/**
 * The console's page of an object, when it has one (see links.ts): not for deleted objects (their
 * pages are gone) nor data sources. A training dataset opens its view's training data tab.
 */
export function pageOf(node: LineageObject): string | null {
  if (node.deleted) return null;
  return objectHref(node.kind, node.name, hasVersions(node.kind) ? node.version : null);
}
