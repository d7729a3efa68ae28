import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError, issueMessage } from '../../errors.ts';
import type { DataSource, Prisma } from '../../generated/sqlite/client.ts';
import type { SecretBox } from '../../secret-box.ts';
import type { FileRoots } from '../../stores/external/file-roots.ts';
import { FilesSource } from '../../stores/external/files.ts';
import { PostgresSource } from '../../stores/external/postgres.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import { OBJECT_NAME } from '../feature-group/definition.ts';
import type { RegistryChange, RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';

export type DataSourceType = 'POSTGRES' | 'FILES';

const createInput = z.object({
  name: z.string().regex(OBJECT_NAME, 'lower-case letters, digits and _, starting with a letter, at most 63 characters'),
  type: z.enum(['POSTGRES', 'FILES']),
  description: z.string().max(10_000).nullish(),
  config: z.record(z.string(), z.unknown()),
});
export type CreateDataSourceInput = z.input<typeof createInput>;

const postgresConfig = z.strictObject({
  url: z.string().regex(/^postgres(ql)?:\/\/.+/, 'must be a postgresql:// URL'),
  /** The password, when not in the URL. */
  password: z.string().nullish(),
});
const filesConfig = z.strictObject({ path: z.string().min(1).refine(isAbsolute, 'must be an absolute directory path') });

/** What a data source's `config` shows: POSTGRES `{ url }` without its password, FILES `{ path }`. */
export type PublicConfig = { readonly url: string } | { readonly path: string };

/** A data source opened for reading: a PostgreSQL database or a directory of files. */
export type SourceConnector = { readonly type: 'POSTGRES'; readonly source: PostgresSource } | { readonly type: 'FILES'; readonly source: FilesSource };

/** What `testDataSource` found: the tables (`schema.table`) or the files (relative paths). */
export interface DataSourceTest {
  readonly objects: readonly string[];
}

/**
 * Data sources (storage connectors) of a project: where external feature groups read in place.
 * A POSTGRES source's password is taken out of its URL and stored sealed with the server's secret
 * key (`SecretBox`); it is opened only to connect and is never returned or logged. A FILES
 * source's directory must be inside the server's file-source roots (`GRANARY_FILE_SOURCE_ROOTS`)
 * once every symbolic link is resolved; this is checked here and again on every read.
 */
export class DataSourceService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly secrets: SecretBox,
    private readonly fileRoots: FileRoots,
  ) {}

  /**
   * Creates a data source, or returns the existing one of that name when type, config and password
   * are the same; otherwise a ConflictError (delete it first to change it).
   */
  async create(viewer: Viewer, raw: CreateDataSourceInput): Promise<DataSource> {
    const input = parseInput(createInput, raw);
    const { config, password } = parseConfig(input.type, input.config);
    if ('path' in config) await this.checkDirectory(config.path, String(input.config.path));
    const existing = await this.find(viewer, input.name);
    if (existing) return this.sameOrConflict(existing, input.type, config, password);
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.dataSource.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            type: input.type,
            description: input.description ?? '',
            config: config as Prisma.InputJsonValue,
            sealedPassword: password === null ? null : this.secrets.seal(password),
          },
        });
        return { value, change: sourceChange(value, 'CREATED') };
      });
    } catch (error) {
      const raced = await this.find(viewer, input.name);
      if (raced) return this.sameOrConflict(raced, input.type, config, password);
      throw error;
    }
  }

  /**
   * A ValidationError at `input.config.path` unless the directory is inside a file-source root.
   * The message repeats only the path the user gave: never a root or a resolved path, and the same
   * answer for a path outside the roots whether it exists or not.
   */
  private async checkDirectory(path: string, typed: string): Promise<void> {
    const checked = await this.fileRoots.check(path);
    if (checked.ok) return;
    const shown = JSON.stringify(typed.length > 300 ? `${typed.slice(0, 297)}...` : typed);
    const at = ['input', 'config', 'path'];
    if (checked.reason === 'missing') throw ValidationError.at(at, `directory ${shown} does not exist`);
    if (checked.reason === 'not-a-directory') throw ValidationError.at(at, `${shown} is not a directory`);
    throw ValidationError.at(
      at,
      `${shown} is outside the directories this server lets FILES data sources read (its administrator sets them with GRANARY_FILE_SOURCE_ROOTS)`,
    );
  }

  private sameOrConflict(existing: DataSource, type: DataSourceType, config: PublicConfig, password: string | null): DataSource {
    const same =
      existing.type === type &&
      JSON.stringify(existing.config) === JSON.stringify(config) &&
      (existing.sealedPassword === null ? password === null : password !== null && this.secrets.open(existing.sealedPassword) === password);
    if (same) return existing;
    throw new ConflictError(`data source ${existing.name} exists with another type, configuration or password; delete it first to change it`);
  }

  /** The project's data sources, by name. */
  list(viewer: Viewer): Promise<DataSource[]> {
    return this.prisma.dataSource.findMany({ where: { projectId: viewer.projectId }, orderBy: { name: 'asc' } });
  }

  find(viewer: Viewer, name: string): Promise<DataSource | null> {
    return this.prisma.dataSource.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name } } });
  }

  async get(viewer: Viewer, name: string): Promise<DataSource> {
    const source = await this.find(viewer, name);
    if (!source) throw new NotFoundError('DataSource', name);
    return source;
  }

  /** Deletes a data source; a ConflictError while a feature group reads from it. */
  async delete(viewer: Viewer, name: string): Promise<DataSource> {
    const source = await this.get(viewer, name);
    const groups = await this.prisma.featureGroup.findMany({ where: { dataSourceId: source.id }, select: { name: true, version: true } });
    if (groups.length > 0) {
      const names = groups.map((g) => `${g.name} version ${g.version}`).join(', ');
      throw new ConflictError(`data source ${source.name} is used by feature group ${names}; delete those first`);
    }
    return this.events.change(viewer.projectId, async (tx) => {
      await tx.dataSource.delete({ where: { id: source.id } });
      return { value: source, change: sourceChange(source, 'DELETED') };
    });
  }

  /** Connects and lists what the source holds: tables (`schema.table`) or Parquet and CSV files. DataSourceError when it fails. */
  async test(viewer: Viewer, name: string): Promise<DataSourceTest> {
    const connector = this.open(await this.get(viewer, name));
    return { objects: connector.type === 'POSTGRES' ? await connector.source.listTables() : await connector.source.listFiles() };
  }

  /** A stored source opened for reading (its password unsealed in memory). */
  open(source: DataSource): SourceConnector {
    const config = source.config as Record<string, string>;
    if (source.type === 'POSTGRES') {
      const password = source.sealedPassword === null ? null : this.secrets.open(source.sealedPassword);
      return { type: 'POSTGRES', source: new PostgresSource(source.name, config.url!, password) };
    }
    return { type: 'FILES', source: new FilesSource(source.name, config.path!, this.fileRoots) };
  }
}

/** parseInput with issues under `input.config`. */
function parseConfigInput<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  try {
    return parseInput(schema, raw, 'config');
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const issues = error.issues.map((i) => ({ path: ['input', ...i.path], message: issueMessage(i) }));
    throw new ValidationError(`${issues[0]!.path.join('.')}: ${issues[0]!.message}`, issues);
  }
}

/** Validates a config and splits off the password: the URL kept has none. */
function parseConfig(type: DataSourceType, raw: unknown): { config: PublicConfig; password: string | null } {
  if (type === 'FILES') {
    const { path } = parseConfigInput(filesConfig, raw);
    return { config: { path: normalize(path).replace(/(.)\/+$/, '$1') }, password: null };
  }
  const parsed = parseConfigInput(postgresConfig, raw);
  let url: URL;
  try {
    url = new URL(parsed.url);
  } catch {
    throw ValidationError.at(['input', 'config', 'url'], 'is not a valid URL');
  }
  let password = url.password ? decodeURIComponent(url.password) : null;
  url.password = '';
  const inQuery = url.searchParams.get('password');
  if (inQuery !== null) {
    password ??= inQuery;
    url.searchParams.delete('password');
  }
  if (parsed.password != null) password = parsed.password;
  if (!url.hostname) throw ValidationError.at(['input', 'config', 'url'], 'needs a host');
  return { config: { url: url.toString() }, password };
}

function sourceChange(source: DataSource, action: RegistryChange['action']): RegistryChange {
  return { kind: 'DataSource', objectId: source.id, name: source.name, action };
}
