import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { groupSchema } from '../../services/feature-group/definition.ts';
import { commitRef, isOfflineCommit } from '../../services/feature-group/commits.ts';
import { ONLINE_BATCH, replayOnline } from '../../services/feature-group/replay-online.ts';
import type { JobType } from '../job-type.ts';
import { isoTime, objectRef, refText } from './refs.ts';

const config = z
  .object({
    featureGroup: objectRef,
    /** Only rows with an event time at or after this. */
    startTime: isoTime.nullish(),
    /** Only rows with an event time before this. */
    endTime: isoTime.nullish(),
  })
  .refine((c) => !c.startTime || !c.endTime || Date.parse(c.startTime) < Date.parse(c.endTime), {
    message: 'startTime must be before endTime',
    path: ['endTime'],
  });

/** Where a run stopped: the last commit (uuid v7, in commit order) whose rows are in the online store. */
const checkpoint = z.object({ afterCommit: z.string() });

/**
 * MATERIALIZE: backfills a feature group's online store from its offline store, commit by commit
 * (oldest first). Each commit is one chunk: its rows (newest per key, in parts of a bounded size;
 * only those in the event-time window, when one is given) are written under the online store's newest-event-wins rule, then progress and a
 * checkpoint (the commit id) are stored, so a run killed mid-way resumes after the last chunk it
 * finished. Writing a chunk twice is harmless: online writes are idempotent.
 */
export const materialize: JobType<typeof config> = {
  name: 'MATERIALIZE',
  description:
    'Backfills the online store of an online-enabled feature group from its offline store: config `{ featureGroup: { name, version }, startTime?, endTime? }` (event-time window). Resumable after a crash.',
  config,
  scope: 'WRITE',
  resumable: true,
  async check(c, ctx) {
    const group = await ctx.featureGroups.find(ctx.viewer, c.featureGroup);
    if (!group) throw ValidationError.at(['featureGroup'], `feature group ${refText(c.featureGroup)} not found in this project`);
    if (!group.onlineEnabled) throw ValidationError.at(['featureGroup'], `feature group ${group.name} version ${group.version} is not online enabled`);
    const schema = groupSchema(group);
    eventTimeWindow(c.startTime, c.endTime, schema.eventTime, schema.features);
  },
  async run(ctx) {
    const { featureGroups } = ctx.services;
    const { offline, online } = ctx.stores;
    const group = await featureGroups.get(ctx.viewer, ctx.config.featureGroup);
    if (!group.onlineEnabled) throw ValidationError.at(['featureGroup'], `feature group ${group.name} version ${group.version} is not online enabled`);
    const schema = groupSchema(group);
    const window = eventTimeWindow(ctx.config.startTime, ctx.config.endTime, schema.eventTime, schema.features);
    if (group.dataSourceId !== null) {
      // An external group: its rows are read from the source now, as one chunk (no commits to resume by).
      const table = featureGroups.onlineTable(group);
      await online.ensure(table);
      ctx.log(`materializing external ${group.name} version ${group.version} from its data source`);
      const from = ctx.config.startTime ? new Date(ctx.config.startTime) : null;
      const to = ctx.config.endTime ? new Date(ctx.config.endTime) : null;
      // Online writes break equal event-time ties by commit id: a later run's rows win.
      const runId = uuidv7();
      let written = 0;
      for await (const batch of ctx.services.externalGroups.onlineRows(group, { from, to }, ONLINE_BATCH)) {
        ctx.signal.throwIfAborted();
        const kept = window ? batch.filter((row) => eventInWindow(row.eventTime, window)) : batch;
        if (kept.length > 0) await online.write(table, kept, runId);
        written += kept.length;
      }
      await ctx.progress(1, `${written} rows`);
      ctx.log(`done: ${written} rows written`);
      return;
    }
    const commits = (await featureGroups.commits(group.id)).filter(isOfflineCommit).sort((a, b) => (a.id < b.id ? -1 : 1));
    const resumed = checkpoint.safeParse(ctx.checkpoint);
    const after = resumed.success ? resumed.data.afterCommit : null;
    const todo = after ? commits.filter((c) => c.id > after) : commits;
    const done = commits.length - todo.length;
    if (after) ctx.log(`resuming after commit ${after}: ${done} of ${commits.length} commits already written`);
    ctx.log(`materializing ${group.name} version ${group.version}: ${todo.length} commits to write`);
    const table = featureGroups.onlineTable(group);
    await online.ensure(table);
    const location = featureGroups.location(ctx.viewer.projectName, group);
    let written = 0;
    const rowsWindow = window ? { fromMicros: window.from, toMicros: window.to } : undefined;
    for (const [i, commit] of todo.entries()) {
      const rows = await replayOnline({ offline, online }, location, table, commitRef(commit), { window: rowsWindow, signal: ctx.signal });
      written += rows;
      const position = done + i + 1;
      ctx.log(`commit ${commit.id}: ${rows} rows written`);
      await ctx.progress(position / commits.length, `commit ${position} of ${commits.length}`, { afterCommit: commit.id });
    }
    if (commits.length === 0) await ctx.progress(1, 'no commits');
    ctx.log(`done: ${written} rows written`);
  },
};

interface Window {
  readonly from: number | null;
  readonly to: number | null;
}

/** The window in the online store's event-time unit (epoch microseconds for TIMESTAMP and DATE). */
function eventTimeWindow(
  startTime: string | null | undefined,
  endTime: string | null | undefined,
  eventTime: string | null,
  features: readonly { name: string; type: string }[],
): Window | null {
  if (!startTime && !endTime) return null;
  const type = features.find((f) => f.name === eventTime)?.type;
  if (!eventTime || (type !== 'TIMESTAMP' && type !== 'DATE')) {
    throw ValidationError.at(['startTime'], 'an event-time window needs a feature group with a TIMESTAMP or DATE event time');
  }
  const micros = (iso: string | null | undefined) => (iso ? Date.parse(iso) * 1000 : null);
  return { from: micros(startTime), to: micros(endTime) };
}

/** The rows of a batch whose event time is in the window. */
function eventInWindow(t: number | null | undefined, window: Window): boolean {
  return t != null && (window.from == null || t >= window.from) && (window.to == null || t < window.to);
}
