import type { FeatureGroup } from '../../generated/sqlite/client.ts';

/**
 * Where a project's streamed rows live in the ingestion log. One stream per project; one subject per
 * feature group version (project and group names are lower-case letters, digits and `_`, so they are
 * valid subject tokens). External producers publish to these subjects directly (see the README's
 * streaming section).
 */

/** The durable consumer that applies a project's stream (checks, online writes, progress); every process consumes under it. */
export const APPLY_CONSUMER = 'granary_apply';

/**
 * The names of a deployment's streams and subjects. The namespace (`STREAM_NAMESPACE`, default
 * `granary`) lets several deployments share one NATS server: stream `<namespace>_<project>`,
 * subjects `<namespace>.<project>.<group>.v<version>`.
 */
export class StreamNames {
  constructor(readonly namespace = 'granary') {}

  /** The stream of a project. */
  stream(projectName: string): string {
    return `${this.namespace}_${projectName}`;
  }

  /** The prefix of every subject of a project's stream. */
  prefix(projectName: string): string {
    return `${this.namespace}.${projectName}`;
  }

  /** The subject a feature group version's rows are published to. */
  subject(projectName: string, group: Pick<FeatureGroup, 'name' | 'version'>): string {
    return `${this.prefix(projectName)}.${group.name}.v${group.version}`;
  }

  /** The group name and version a subject of the project's stream names, or null when it names none. */
  parse(projectName: string, subject: string): { name: string; version: number } | null {
    const prefix = `${this.prefix(projectName)}.`;
    if (!subject.startsWith(prefix)) return null;
    const m = /^([a-z][a-z0-9_]{0,62})\.v(\d{1,9})$/.exec(subject.slice(prefix.length));
    return m ? { name: m[1]!, version: Number(m[2]) } : null;
  }
}

/** Largest message the log accepts from the GraphQL ingest (external producers are bound by the log's own limit). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A group's streamed rows become an offline commit at least this often by default (milliseconds)... */
export const DEFAULT_STREAM_COMMIT_INTERVAL_MS = 10_000;
/** ...or as soon as this many rows wait. */
export const DEFAULT_STREAM_COMMIT_ROWS = 100_000;

/** A group's offline commit interval and row bound for streamed rows, defaults applied. */
export function streamCommitPolicy(group: { streamCommitIntervalMs: number | null; streamCommitRows: number | null }) {
  return {
    intervalMs: group.streamCommitIntervalMs ?? DEFAULT_STREAM_COMMIT_INTERVAL_MS,
    rows: group.streamCommitRows ?? DEFAULT_STREAM_COMMIT_ROWS,
  };
}
