import { viewColumns } from '../../engine/feature-view/query.ts';
import type { CatalogEntry } from '../../generated/sqlite/client.ts';
import type { TxClient } from '../registry-events.service.ts';
import { canonicalJson } from '../tag/json-schema.ts';
import { INDEX_VERSION, termsOf } from './terms.ts';
import { readFeatures, readViewQuery } from '../json-columns.ts';

/** Which part of an object a searchable text is. */
export type SearchFieldName = 'name' | 'description' | 'feature' | 'featureDescription' | 'framework' | 'tag' | 'keyword';

/** One searchable text of an object: what `matches` highlights. */
export interface SearchField {
  readonly field: SearchFieldName;
  /** The feature a `feature`/`featureDescription` belongs to, the name of a `tag`. */
  readonly key: string | null;
  readonly text: string;
}

/**
 * Rebuilds the search document of a catalog entry from the object as it is now, with its tags and
 * keywords (a deleted object's document is removed). Call inside the transaction that changed it.
 */
export async function writeSearchDocument(tx: TxClient, entryId: string): Promise<void> {
  // Updating the entry first takes its row lock, so concurrent rebuilds of one document run one
  // after the other, and each reads what the one before it committed.
  const { count } = await tx.catalogEntry.updateMany({ where: { id: entryId }, data: { updatedAt: new Date() } });
  // Not in the catalog (written around it, e.g. by hand): nothing to index.
  if (count === 0) return;
  const entry = await tx.catalogEntry.findUniqueOrThrow({ where: { id: entryId } });
  if (entry.deletedAt) {
    await removeSearchDocuments(tx, [entryId]);
    return;
  }
  const fields = await searchFields(tx, entry);
  const data = {
    projectId: entry.projectId,
    kind: entry.kind,
    name: entry.name,
    version: entry.version,
    nameTerms: termsOf([entry.name]),
    terms: termsOf(fields.flatMap((f) => (f.field === 'tag' && f.key ? [f.key, f.text] : [f.text]))),
    fields: JSON.stringify(fields),
    indexVersion: INDEX_VERSION,
  };
  await tx.searchDocument.upsert({ where: { entryId }, create: { entryId, ...data }, update: data });
}

/** Removes the search documents of objects (deleted ones). */
export async function removeSearchDocuments(tx: TxClient, entryIds: readonly string[]): Promise<void> {
  await tx.searchDocument.deleteMany({ where: { entryId: { in: [...entryIds] } } });
}

/** Everything searchable of an object: name, description, features, tags, keywords. */
async function searchFields(tx: TxClient, entry: CatalogEntry): Promise<SearchField[]> {
  const fields: SearchField[] = [{ field: 'name', key: null, text: entry.name }];
  const text = (field: SearchFieldName, value: string | null | undefined, key: string | null = null) => {
    if (value) fields.push({ field, key, text: value });
  };
  switch (entry.kind) {
    case 'FEATURE_GROUP': {
      const group = await tx.featureGroup.findUnique({ where: { id: entry.id }, select: { description: true, features: true } });
      text('description', group?.description);
      for (const feature of group ? readFeatures(group.features) : []) {
        text('feature', feature.name, feature.name);
        text('featureDescription', feature.description, feature.name);
      }
      break;
    }
    case 'FEATURE_VIEW': {
      const view = await tx.featureView.findUnique({ where: { id: entry.id }, select: { description: true, query: true } });
      text('description', view?.description);
      if (view) for (const column of viewColumns(readViewQuery(view.query))) text('feature', column.name, column.name);
      break;
    }
    case 'TRAINING_DATASET': {
      const dataset = await tx.trainingDataset.findUnique({ where: { id: entry.id }, select: { description: true } });
      text('description', dataset?.description);
      break;
    }
    case 'MODEL': {
      const model = await tx.model.findUnique({ where: { id: entry.id }, select: { description: true, framework: true } });
      text('description', model?.description);
      text('framework', model?.framework);
      break;
    }
  }
  const tags = await tx.tag.findMany({ where: { entryId: entry.id }, orderBy: { name: 'asc' } });
  for (const tag of tags) fields.push({ field: 'tag', key: tag.name, text: tagText(tag.value) });
  const keywords = await tx.keyword.findMany({ where: { entryId: entry.id }, orderBy: { keyword: 'asc' } });
  for (const { keyword } of keywords) fields.push({ field: 'keyword', key: null, text: keyword });
  return fields;
}

/** A tag value as searchable text: a scalar as it reads, an object or list as canonical JSON. */
function tagText(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return canonicalJson(value);
  return String(value);
}
