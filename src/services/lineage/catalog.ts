import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError, ValidationError } from '../../errors.ts';
import type { CatalogEntry } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { TxClient } from '../registry-events.service.ts';
import { removeSearchDocuments, writeSearchDocument } from '../search/document.ts';
import type { Viewer } from '../viewer.ts';

/**
 * The catalog: one entry per registry object (feature group, feature view, training dataset and
 * model version), written in the transaction that creates the object, with lineage edges to the
 * objects it was made from. Tags, keywords and search documents hang off the entry. Deleting the
 * object marks its entry deleted and drops its tags, keywords and search document; the entry and
 * its edges stay, so lineage keeps showing where things came from.
 */

export const CATALOG_KINDS = ['FEATURE_GROUP', 'FEATURE_VIEW', 'TRAINING_DATASET', 'MODEL'] as const;
export type CatalogKind = (typeof CATALOG_KINDS)[number];

/** The GraphQL type whose global ids name objects of each kind. */
export const TYPENAME_OF: Record<CatalogKind, string> = {
  FEATURE_GROUP: 'FeatureGroup',
  FEATURE_VIEW: 'FeatureView',
  TRAINING_DATASET: 'TrainingDataset',
  MODEL: 'Model',
};

const KIND_OF: Record<string, CatalogKind> = Object.fromEntries(Object.entries(TYPENAME_OF).map(([kind, typename]) => [typename, kind as CatalogKind]));

/** What the catalog records of a new object. */
export interface CatalogObject {
  readonly id: string;
  readonly projectId: string;
  readonly kind: CatalogKind;
  readonly name: string;
  readonly version: number;
}

/** A Prisma client, in a transaction or not. */
type Client = TxClient | MetadataClient;

/** The relay global id of a catalog object (also of a deleted one). */
export function globalIdOf(entry: { id: string; kind: string }): string {
  return encodeGlobalID(TYPENAME_OF[entry.kind as CatalogKind], entry.id);
}

/** The name Hopsworks gives a training dataset: its view's name and version. */
export function trainingDatasetName(view: { name: string; version: number }): string {
  return `${view.name}_${view.version}`;
}

/**
 * Records a new object and its lineage: edges from each of `upstream` (ids of the objects it was
 * made from) that the catalog knows. Call inside the transaction that creates the object.
 */
export async function recordCreated(tx: TxClient, object: CatalogObject, upstream: readonly (string | null | undefined)[] = []): Promise<void> {
  await tx.catalogEntry.create({
    data: { id: object.id, projectId: object.projectId, kind: object.kind, name: object.name, version: object.version },
  });
  const wanted = [...new Set(upstream.filter((id): id is string => !!id && id !== object.id))];
  if (wanted.length > 0) {
    // Objects written before the catalog existed, or around it, have no entry: no edge to those.
    const known = await tx.catalogEntry.findMany({ where: { id: { in: wanted }, projectId: object.projectId }, select: { id: true } });
    if (known.length > 0) await tx.lineageEdge.createMany({ data: known.map((e) => ({ fromId: e.id, toId: object.id })) });
  }
  await writeSearchDocument(tx, object.id);
}

/** Rebuilds an object's search document after its text (description, features) changed. */
export async function recordChanged(tx: TxClient, id: string): Promise<void> {
  await writeSearchDocument(tx, id);
}

/** Marks objects deleted; drops their tags, keywords and search documents. Inside the deleting transaction. */
export async function recordDeleted(tx: TxClient, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.catalogEntry.updateMany({ where: { id: { in: [...ids] }, deletedAt: null }, data: { deletedAt: new Date() } });
  await tx.tag.deleteMany({ where: { entryId: { in: [...ids] } } });
  await tx.keyword.deleteMany({ where: { entryId: { in: [...ids] } } });
  await removeSearchDocuments(tx, ids);
}

/** Decodes a global id of a catalog kind; anything else is a ValidationError at `path`. */
export function decodeTarget(globalId: string, path: readonly (string | number)[]): { kind: CatalogKind; id: string } {
  let decoded: { typename: string; id: string } | null = null;
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    decoded = null;
  }
  const kind = decoded ? KIND_OF[decoded.typename] : undefined;
  if (!decoded || !kind || !decoded.id) {
    throw ValidationError.at(
      path,
      `${JSON.stringify(globalId)} is not the id of a feature group, feature view, training dataset or model (ask for their \`id\` field)`,
    );
  }
  return { kind, id: decoded.id };
}

/**
 * The catalog entry a global id names in the caller's project. Another project's id, an unknown
 * one and (unless `includeDeleted`) a deleted object's are all NotFoundError.
 */
export async function findTarget(
  client: Client,
  viewer: Viewer,
  globalId: string,
  options: { path: readonly (string | number)[]; includeDeleted?: boolean },
): Promise<CatalogEntry> {
  const { kind, id } = decodeTarget(globalId, options.path);
  const entry = await client.catalogEntry.findFirst({
    where: { id, kind, projectId: viewer.projectId, ...(options.includeDeleted ? {} : { deletedAt: null }) },
  });
  if (!entry) throw new NotFoundError(TYPENAME_OF[kind], globalId);
  return entry;
}
