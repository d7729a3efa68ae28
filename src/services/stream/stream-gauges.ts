import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { StreamLog } from '../../stores/log/stream-log.ts';
import { APPLY_CONSUMER, StreamNames } from './subjects.ts';

interface GaugeReading {
  readonly labels: { readonly project?: string; readonly feature_group?: string };
  readonly value: number;
}

/**
 * Streaming ingestion as Prometheus gauges, read at scrape time: per project, the apply consumer's
 * pending messages (its lag); per streamed feature group (`<name>_v<version>`), when rows were last
 * written online and how many wait for an offline commit. Two metadata queries per scrape, plus one
 * consumer-state request per project with a stream.
 */
export function streamGauges(prisma: MetadataClient, log: StreamLog, namespace: string) {
  const names = new StreamNames(namespace);
  // Both per-group gauges of one scrape read the same rows: prom-client collects every gauge of a
  // scrape at once, so a query still under way is shared, and one that has settled is never reused
  // (a later scrape must see the writes made since).
  let read: ReturnType<typeof query> | null = null;
  const progress = () => {
    if (!read) {
      const rows = query();
      read = rows;
      const forget = () => {
        if (read === rows) read = null;
      };
      rows.then(forget, forget);
    }
    return read;
  };
  const query = () =>
    prisma.streamProgress.findMany({
      select: {
        lastOnlineWriteMs: true,
        appliedRows: true,
        materializedRows: true,
        featureGroup: { select: { name: true, version: true, project: { select: { name: true } } } },
      },
    });
  return {
    async consumerLag(): Promise<GaugeReading[]> {
      const projects = await prisma.project.findMany({ where: { featureGroups: { some: { streamProgress: { isNot: null } } } }, select: { name: true } });
      const readings = await Promise.all(
        projects.map(async ({ name }) => {
          const state = await log.consumerState(names.stream(name), APPLY_CONSUMER).catch(() => null);
          return state ? { labels: { project: name }, value: state.pending } : null;
        }),
      );
      return readings.filter((reading) => reading !== null);
    },
    async lastOnlineWrite(): Promise<GaugeReading[]> {
      return (await progress())
        .filter((row) => row.lastOnlineWriteMs !== null)
        .map((row) => ({ labels: groupLabels(row.featureGroup), value: Number(row.lastOnlineWriteMs) / 1000 }));
    },
    async pendingOfflineRows(): Promise<GaugeReading[]> {
      return (await progress()).map((row) => ({
        labels: groupLabels(row.featureGroup),
        value: Math.max(0, Number(row.appliedRows - row.materializedRows)),
      }));
    },
  };
}

function groupLabels(group: { name: string; version: number; project: { name: string } }) {
  return { project: group.project.name, feature_group: `${group.name}_v${group.version}` };
}
