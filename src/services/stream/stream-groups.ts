import type { FeatureGroup } from '../../generated/sqlite/client.ts';
import { rowCoercer, type RowCoercer } from '../../domain/row-coercion.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { OnlineTable } from '../../stores/online/online-store.ts';
import { groupSchema } from '../feature-group/definition.ts';
import type { StreamNames } from './subjects.ts';

/** A feature group as the stream consumers use it: its row, online table and row coercer. */
export interface StreamGroup {
  readonly group: FeatureGroup;
  readonly projectName: string;
  readonly table: OnlineTable;
  readonly coerce: RowCoercer;
}

/** How long a looked-up group is used before it is read again (a schema may gain features). */
const FRESH_MS = 2000;

/**
 * Feature groups by subject, cached briefly: the consumers look one up per batch. `refresh` reads
 * one again at once (before a message is dead-lettered for an unknown column, which a feature
 * appended since the lookup would explain).
 */
export class StreamGroups {
  private readonly cache = new Map<string, { at: number; value: StreamGroup | null }>();

  constructor(
    private readonly prisma: MetadataClient,
    private readonly names: StreamNames,
  ) {}

  async bySubject(projectName: string, subject: string, refresh = false): Promise<StreamGroup | null> {
    const cacheKey = `${projectName}\u0000${subject}`;
    const hit = this.cache.get(cacheKey);
    if (!refresh && hit && Date.now() - hit.at < FRESH_MS) return hit.value;
    const parsed = this.names.parse(projectName, subject);
    const group = parsed
      ? await this.prisma.featureGroup.findFirst({ where: { project: { name: projectName }, name: parsed.name, version: parsed.version, dataSourceId: null } })
      : null;
    const value = group ? streamGroup(projectName, group) : null;
    this.cache.set(cacheKey, { at: Date.now(), value });
    return value;
  }
}

export function streamGroup(projectName: string, group: FeatureGroup): StreamGroup {
  const schema = groupSchema(group);
  return { group, projectName, table: { id: group.id, schema }, coerce: rowCoercer(schema) };
}
