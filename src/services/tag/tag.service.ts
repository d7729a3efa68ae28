import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { CatalogEntry, Prisma, Tag, TagSchema } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { findTarget, recordChanged, TYPENAME_OF, type CatalogKind } from '../lineage/catalog.ts';
import type { RegistryChange, RegistryEventsService, TxClient } from '../registry-events.service.ts';
import { checkJsonDepth } from '../json-limits.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import { canonicalJson, checkTagValue, compileJsonSchema } from './json-schema.ts';

const TAG_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const TAG_NAME_MESSAGE = 'letters, digits, _, . and -, starting with a letter, at most 63 characters';

const tagName = z.string().regex(TAG_NAME, TAG_NAME_MESSAGE);

const description = z.string().max(10_000).nullish();

export interface CreateTagSchemaInput {
  readonly name: string;
  readonly schema?: unknown;
  readonly description?: string | null;
}

/** Keywords are case-insensitive labels: trimmed, inner spaces collapsed, lower-cased. */
export const keywordSchema = z
  .string()
  .transform((k) => k.trim().replace(/\s+/g, ' ').toLowerCase())
  .pipe(
    z.string().regex(/^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,62}$/u, 'letters, digits, spaces, _, . and -, starting with a letter or digit, at most 63 characters'),
  );
const keywordsInput = z.array(keywordSchema).min(1, 'give at least one keyword').max(100, 'at most 100 keywords at once');

/**
 * The largest tag value, as JSON: tags are labels, and the schema's patterns run over the value
 * (see MAX_SCHEMA_PATTERN_PROGRAM), so its size bounds how long one check can take.
 */
export const MAX_TAG_VALUE_BYTES = 32 * 1024;

/** Keywords an object may carry. */
const MAX_KEYWORDS = 200;

/**
 * Tag schemas, tags and keywords. A tag schema is a JSON Schema; a tag of that name on a feature
 * group, feature view, training dataset or model must satisfy it, or nothing is stored. Keywords
 * are free labels. Both are searchable, and every change is a registry event.
 */
export class TagService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
  ) {}

  /**
   * Creates a tag schema (a JSON Schema, checked to be one). The same name with the same schema
   * returns the existing one; with another schema it is a ConflictError.
   */
  async createSchema(viewer: Viewer, raw: CreateTagSchemaInput): Promise<TagSchema> {
    const input = {
      name: parseInput(tagName, raw.name, 'name'),
      schema: raw.schema,
      description: parseInput(description, raw.description, 'description'),
    };
    compileJsonSchema(input.schema, ['schema']);
    const existing = await this.findSchema(viewer, input.name);
    if (existing) return this.sameOrConflict(existing, input.schema);
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.tagSchema.create({
          data: { projectId: viewer.projectId, name: input.name, description: input.description ?? '', schema: json(input.schema) },
        });
        return { value, change: schemaChange(value, 'CREATED') };
      });
    } catch (error) {
      // Another request created it first.
      const raced = await this.findSchema(viewer, input.name);
      if (raced) return this.sameOrConflict(raced, input.schema);
      throw error;
    }
  }

  private sameOrConflict(existing: TagSchema, schema: unknown): TagSchema {
    if (canonicalJson(existing.schema) === canonicalJson(schema)) return existing;
    throw new ConflictError(`tag schema ${existing.name} exists with another schema; delete it first (when no tag uses it) or pick another name`);
  }

  findSchema(viewer: Viewer, name: string): Promise<TagSchema | null> {
    return this.prisma.tagSchema.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name } } });
  }

  /** Deletes a tag schema; refused (ConflictError) while any tag uses it. */
  async deleteSchema(viewer: Viewer, name: string): Promise<TagSchema> {
    const schema = await this.findSchema(viewer, name);
    if (!schema) throw new NotFoundError('TagSchema', name);
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const used = await tx.tag.count({ where: { schemaId: schema.id } });
        if (used > 0) throw new ConflictError(`tag schema ${name} is used by ${used} tag${used === 1 ? '' : 's'}; remove ${used === 1 ? 'it' : 'them'} first`);
        await tx.tagSchema.delete({ where: { id: schema.id } });
        return { value: schema, change: schemaChange(schema, 'DELETED') };
      });
    } catch (error) {
      // A tag added meanwhile: the foreign key refused the delete.
      if (isForeignKeyViolation(error)) throw new ConflictError(`tag schema ${name} is in use; remove its tags first`);
      throw error;
    }
  }

  /**
   * Sets tag `name` of an object to `value` (replacing its value if the object has that tag).
   * The value must satisfy the tag schema of that name: if not, a ValidationError carries the
   * schema's messages and nothing is stored.
   */
  async addTag(viewer: Viewer, target: string, name: string, value: unknown): Promise<{ tag: Tag; entry: CatalogEntry }> {
    const entry = await findTarget(this.prisma, viewer, target, { path: ['target'] });
    const schema = await this.findSchema(viewer, name);
    if (!schema) throw new NotFoundError('TagSchema', name);
    if (value === undefined) throw ValidationError.at(['value'], 'give a value');
    checkJsonDepth(value, ['value']);
    const valueKey = canonicalJson(value);
    const bytes = Buffer.byteLength(valueKey);
    if (bytes > MAX_TAG_VALUE_BYTES) {
      throw ValidationError.at(
        ['value'],
        `a tag value is at most ${MAX_TAG_VALUE_BYTES / 1024} KB of JSON (the limit); this one is ${Math.ceil(bytes / 1024)} KB`,
      );
    }
    checkTagValue(name, schema, value);
    return this.events.change(viewer.projectId, async (tx) => {
      await lockLiveEntry(tx, entry, target);
      const existing = await tx.tag.findUnique({ where: { entryId_name: { entryId: entry.id, name } } });
      const data = { schemaId: schema.id, value: json(value), valueKey };
      const tag = await tx.tag.upsert({
        where: { entryId_name: { entryId: entry.id, name } },
        create: { entryId: entry.id, name, ...data },
        update: data,
      });
      await recordChanged(tx, entry.id);
      return { value: { tag, entry }, change: targetChange('Tag', entry, existing ? 'UPDATED' : 'CREATED') };
    });
  }

  /** Removes tag `name` from an object. */
  async removeTag(viewer: Viewer, target: string, name: string): Promise<{ tag: Tag; entry: CatalogEntry }> {
    const entry = await findTarget(this.prisma, viewer, target, { path: ['target'] });
    return this.events.change(viewer.projectId, async (tx) => {
      await lockLiveEntry(tx, entry, target);
      const tag = await tx.tag.findUnique({ where: { entryId_name: { entryId: entry.id, name } } });
      if (!tag) throw new NotFoundError('Tag', `${name} on ${entry.name} version ${entry.version}`);
      await tx.tag.delete({ where: { entryId_name: { entryId: entry.id, name } } });
      await recordChanged(tx, entry.id);
      return { value: { tag, entry }, change: targetChange('Tag', entry, 'DELETED') };
    });
  }

  /** Adds keywords to an object (those it has already are kept once); returns all its keywords. */
  async addKeywords(viewer: Viewer, target: string, raw: readonly string[]): Promise<{ keywords: string[]; entry: CatalogEntry }> {
    const keywords = [...new Set(parseInput(keywordsInput, raw, 'keywords'))];
    const entry = await findTarget(this.prisma, viewer, target, { path: ['target'] });
    const current = await this.keywordsOf(viewer.projectId, [entry.id]).then((lists) => lists[0]!);
    const fresh = keywords.filter((k) => !current.includes(k));
    if (fresh.length === 0) return { keywords: current, entry };
    if (current.length + fresh.length > MAX_KEYWORDS) {
      throw ValidationError.at(['keywords'], `an object carries at most ${MAX_KEYWORDS} keywords; ${entry.name} has ${current.length}`);
    }
    return this.events.change(viewer.projectId, async (tx) => {
      await lockLiveEntry(tx, entry, target);
      // Read again under the lock: another request may have added some meanwhile.
      const have = new Set((await tx.keyword.findMany({ where: { entryId: entry.id }, select: { keyword: true } })).map((k) => k.keyword));
      const added = fresh.filter((k) => !have.has(k));
      if (added.length > 0) await tx.keyword.createMany({ data: added.map((k) => ({ entryId: entry.id, keyword: k })) });
      await recordChanged(tx, entry.id);
      return { value: { keywords: [...have, ...added].sort(), entry }, change: targetChange('Keyword', entry, 'CREATED') };
    });
  }

  /** Removes one keyword from an object; returns the keywords it has left. */
  async removeKeyword(viewer: Viewer, target: string, raw: string): Promise<{ keywords: string[]; entry: CatalogEntry }> {
    const word = parseInput(keywordSchema, raw, 'keyword');
    const entry = await findTarget(this.prisma, viewer, target, { path: ['target'] });
    return this.events.change(viewer.projectId, async (tx) => {
      await lockLiveEntry(tx, entry, target);
      const { count } = await tx.keyword.deleteMany({ where: { entryId: entry.id, keyword: word } });
      if (count === 0) throw new NotFoundError('Keyword', `${word} on ${entry.name} version ${entry.version}`);
      await recordChanged(tx, entry.id);
      const left = await tx.keyword.findMany({ where: { entryId: entry.id }, orderBy: { keyword: 'asc' } });
      return { value: { keywords: left.map((k) => k.keyword), entry }, change: targetChange('Keyword', entry, 'DELETED') };
    });
  }

  /** Tags of several objects of a project, by name, in the order of `ids`: one query (a dataloader's batch). */
  async tagsOf(projectId: string, ids: readonly string[]): Promise<Tag[][]> {
    const rows = await this.prisma.tag.findMany({
      where: { entryId: { in: [...ids] }, entry: { projectId } },
      orderBy: [{ entryId: 'asc' }, { name: 'asc' }],
    });
    return groupBy(ids, rows, (r) => r.entryId);
  }

  /** Keywords of several objects of a project, sorted, in the order of `ids`: one query. */
  async keywordsOf(projectId: string, ids: readonly string[]): Promise<string[][]> {
    const rows = await this.prisma.keyword.findMany({
      where: { entryId: { in: [...ids] }, entry: { projectId } },
      orderBy: [{ entryId: 'asc' }, { keyword: 'asc' }],
    });
    return groupBy(ids, rows, (r) => r.entryId).map((list) => list.map((r) => r.keyword));
  }

  /** Every keyword in use in the caller's project, sorted. */
  async allKeywords(viewer: Viewer): Promise<string[]> {
    const rows = await this.prisma.keyword.findMany({
      where: { entry: { projectId: viewer.projectId, deletedAt: null } },
      distinct: ['keyword'],
      select: { keyword: true },
      orderBy: { keyword: 'asc' },
    });
    return rows.map((r) => r.keyword);
  }
}

/**
 * Takes the entry's row lock for the rest of the transaction, and checks the object still exists:
 * a concurrent delete then waits for this change, and drops what it added.
 */
async function lockLiveEntry(tx: TxClient, entry: CatalogEntry, target: string): Promise<void> {
  const { count } = await tx.catalogEntry.updateMany({ where: { id: entry.id, deletedAt: null }, data: { updatedAt: new Date() } });
  if (count === 0) throw new NotFoundError(TYPENAME_OF[entry.kind as CatalogKind], target);
}

function schemaChange(schema: TagSchema, action: RegistryChange['action']): RegistryChange {
  return { kind: 'TagSchema', objectId: schema.id, name: schema.name, version: null, action };
}

/** A tag or keyword change names the object it is on (its id, name and version). */
function targetChange(kind: 'Tag' | 'Keyword', entry: CatalogEntry, action: RegistryChange['action']): RegistryChange {
  return { kind, objectId: entry.id, name: entry.name, version: entry.version, action };
}

function groupBy<T>(ids: readonly string[], rows: readonly T[], key: (row: T) => string): T[][] {
  const byKey = new Map<string, T[]>();
  for (const row of rows) {
    const list = byKey.get(key(row));
    if (list) list.push(row);
    else byKey.set(key(row), [row]);
  }
  return ids.map((id) => byKey.get(id) ?? []);
}

function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'P2003';
}

function json(value: unknown): Prisma.InputJsonValue {
  return value as Prisma.InputJsonValue;
}
