import type { Commit, FeatureGroup } from '../../generated/sqlite/client.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { relationRows, type GroupLocation, type GroupRows, type OfflineStore } from '../../stores/offline/offline-store.ts';
import type { ExternalGroupService } from '../external-group/external-group.service.ts';
import { committedRef, OFFLINE_COMMITS } from './commits.ts';
import { groupSchema } from './definition.ts';

/** Which rows of a group to read. */
export interface GroupRowsOptions {
  /** Features the caller reads (an external source is asked for these only); default all. */
  readonly columns?: readonly string[];
  /** Only commits made up to this time (committed groups). */
  readonly asOf?: Date | null;
  /** The group's offline commits, already read, instead of reading them (committed groups). */
  readonly commits?: readonly Commit[];
  /** Event-time window pushed into an external source: rows at or after `from`, before `to`. */
  readonly from?: Date | null;
  readonly to?: Date | null;
}

/** A group's rows opened for a read: `commits` is null for an external group (its rows have no commits). */
export interface OpenedRows {
  readonly rows: GroupRows;
  readonly commits: readonly Commit[] | null;
  /** Frees what the read loaded (an external source's rows); call it after the SQL ran. */
  release(): Promise<void>;
}

/**
 * Where a feature group's rows come from, decided once for every reader (statistics, validation,
 * feature views, training data): an external group's rows are read from its data source now
 * (ExternalGroupService); any other group's are its offline commits (storage OFFLINE or BOTH, up
 * to `asOf`), whose visibility the offline store owns.
 */
export class GroupRowsReader {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly offline: OfflineStore,
    private readonly external: ExternalGroupService | null = null,
  ) {}

  /** Whether the group's rows come from an external source. */
  isExternal(group: FeatureGroup): boolean {
    return group.dataSourceId !== null && this.external !== null;
  }

  /** The group's offline commits, oldest first, up to `asOf` when given. */
  async commits(group: FeatureGroup, asOf?: Date | null): Promise<Commit[]> {
    return this.prisma.commit.findMany({
      where: { featureGroupId: group.id, ...OFFLINE_COMMITS, ...(asOf ? { committedAt: { lte: asOf } } : {}) },
      orderBy: { id: 'asc' },
    });
  }

  /** The group's rows for a read that releases them itself (`release`), e.g. several groups of one feature view. */
  async open(projectName: string, group: FeatureGroup, options: GroupRowsOptions = {}): Promise<OpenedRows> {
    if (this.isExternal(group)) {
      const relation = await this.external!.relation(group, { columns: options.columns, from: options.from ?? null, to: options.to ?? null });
      return { rows: relationRows(relation.sql), commits: null, release: () => relation.release() };
    }
    const commits = options.commits ?? (await this.commits(group, options.asOf));
    return { rows: this.committed(projectName, group, commits), commits, release: async () => {} };
  }

  /**
   * Runs `work` over the group's rows and releases them after; an external source's failures
   * are reported as ExternalGroupService.withRelation reports them.
   */
  async with<R>(
    projectName: string,
    group: FeatureGroup,
    options: GroupRowsOptions,
    work: (rows: GroupRows, commits: readonly Commit[] | null) => Promise<R>,
  ): Promise<R> {
    if (this.isExternal(group)) {
      return this.external!.withRelation(group, { columns: options.columns }, (sql) => work(relationRows(sql), null));
    }
    const commits = options.commits ?? (await this.commits(group, options.asOf));
    return work(this.committed(projectName, group, commits), commits);
  }

  /** The rows of these offline commits of the group. */
  committed(projectName: string, group: FeatureGroup, commits: readonly Commit[]): GroupRows {
    return this.offline.rows(groupLocation(projectName, group), groupSchema(group), commits.map(committedRef));
  }
}

/** Where a group version's offline files live. */
export function groupLocation(projectName: string, group: Pick<FeatureGroup, 'name' | 'version'>): GroupLocation {
  return { project: projectName, name: group.name, version: group.version };
}
