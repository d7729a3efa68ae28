/**
 * Feature pipeline: creates the three churn feature groups (get-or-create) and writes the
 * customers into them: `customer_info` as a CSV file (a multipart upload streamed from disk),
 * `customer_subscription_info` as an NDJSON file, `customer_demography_info` as JSON rows.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureGroup, FeatureGroupInput, GranaryClient, InsertResult } from 'granary/client';
import type { ChurnData } from './data.ts';
import { CUSTOMER_DEMOGRAPHY, CUSTOMER_INFO, CUSTOMER_SUBSCRIPTIONS } from './definitions.ts';

export interface PipelineContext {
  readonly client: GranaryClient;
  /** Where the pipeline may write files (uploads, model artifacts, downloads). */
  readonly workDir: string;
  /** Where progress goes (one line at a time). */
  readonly log: (line: string) => void;
}

export interface FeaturePipelineResult {
  /** Each group after the inserts, with its row count. */
  readonly groups: readonly FeatureGroup[];
  readonly commits: Readonly<Record<string, InsertResult['commit']>>;
}

/** A CSV value: quoted when it has a comma, quote or line break. */
function csvValue(value: unknown): string {
  const text = value == null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Writes rows as CSV with a header, columns in the group's feature order. */
async function writeCsv(path: string, group: FeatureGroupInput, rows: readonly Record<string, unknown>[]): Promise<void> {
  const names = (group.features ?? []).map((f) => f.name);
  const lines = [names.join(','), ...rows.map((row) => names.map((n) => csvValue(row[n])).join(','))];
  await writeFile(path, `${lines.join('\n')}\n`);
}

async function writeNdjson(path: string, rows: readonly Record<string, unknown>[]): Promise<void> {
  await writeFile(path, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function describeGroup(group: FeatureGroup): string {
  const key = `primary key ${group.primaryKey.join(', ')}`;
  const time = group.eventTime ? `event time ${group.eventTime}` : 'no event time';
  return `${group.name} v${group.version} (${key}; ${time}; ${group.features.length} features)`;
}

function describeCommit(result: InsertResult): string {
  const { commit } = result;
  return `commit ${commit.id.slice(0, 13)}…: ${commit.rowsInserted} rows inserted, ${commit.rowsUpdated} updated; the group holds ${result.featureGroup.rowCount} rows`;
}

/** Runs the feature pipeline on generated data. */
export async function runFeaturePipeline(ctx: PipelineContext, data: ChurnData): Promise<FeaturePipelineResult> {
  const { client, log, workDir } = ctx;

  log('Creating the feature groups (createFeatureGroup returns an existing group with the same definition):');
  for (const definition of [CUSTOMER_INFO, CUSTOMER_DEMOGRAPHY, CUSTOMER_SUBSCRIPTIONS]) {
    const group = await client.ensureFeatureGroup(definition);
    log(`  ${describeGroup(group)}`);
  }

  const commits: Record<string, InsertResult['commit']> = {};

  const infoCsv = join(workDir, 'customer_info.csv');
  await writeCsv(infoCsv, CUSTOMER_INFO, data.customerInfo);
  log(
    `Uploading ${data.customerInfo.length} customers to ${CUSTOMER_INFO.name} as a CSV file (${kb((await stat(infoCsv)).size)}, multipart, streamed from disk):`,
  );
  const info = await client.insert(CUSTOMER_INFO.name, infoCsv);
  commits[CUSTOMER_INFO.name] = info.commit;
  log(`  ${describeCommit(info)}`);

  const subscriptionsNdjson = join(workDir, 'customer_subscription_info.ndjson');
  await writeNdjson(subscriptionsNdjson, data.subscriptions);
  log(
    `Uploading ${data.subscriptions.length} subscriptions to ${CUSTOMER_SUBSCRIPTIONS.name} as an NDJSON file (${kb((await stat(subscriptionsNdjson)).size)}):`,
  );
  const subscriptions = await client.insert(CUSTOMER_SUBSCRIPTIONS.name, subscriptionsNdjson);
  commits[CUSTOMER_SUBSCRIPTIONS.name] = subscriptions.commit;
  log(`  ${describeCommit(subscriptions)}`);

  log(`Inserting ${data.demography.length} demography rows into ${CUSTOMER_DEMOGRAPHY.name} as JSON rows:`);
  const demography = await client.insert(CUSTOMER_DEMOGRAPHY.name, data.demography);
  commits[CUSTOMER_DEMOGRAPHY.name] = demography.commit;
  log(`  ${describeCommit(demography)}`);

  const groups: FeatureGroup[] = [];
  for (const definition of [CUSTOMER_INFO, CUSTOMER_DEMOGRAPHY, CUSTOMER_SUBSCRIPTIONS]) {
    const group = await client.featureGroup(definition.name);
    if (!group) throw new Error(`feature group ${definition.name} vanished`);
    groups.push(group);
  }
  return { groups, commits };
}
