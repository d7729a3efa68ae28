// How the console shows a deployment's settings: its model reference, traffic split, shadow,
// logging, state and latencies, the same way on the list, its page and a model's page.

import { formatNumber } from '../../format.ts';

export interface DeploymentModelRef {
  readonly name: string;
  readonly version: number | null;
  readonly alias: string | null;
}

export interface TrafficShare {
  readonly version: number;
  readonly alias: string | null;
  readonly weight: number;
}

/** `churnmodel version 2`, or `churnmodel alias champion` for a followed alias. */
export function modelText(model: DeploymentModelRef): string {
  if (model.alias !== null) return `${model.name} alias ${model.alias}`;
  return model.version === null ? model.name : `${model.name} version ${model.version}`;
}

/**
 * The page of the version a model reference serves now: the pinned version, or the version a
 * followed alias points at (as the traffic resolves it); the latest version when neither is known.
 */
export function modelHref(model: DeploymentModelRef, traffic: readonly TrafficShare[]): string {
  const version = model.version ?? (model.alias === null ? null : (traffic.find((t) => t.alias === model.alias)?.version ?? null));
  return `/models/${model.name}${version === null ? '' : `?version=${version}`}`;
}

/** A share of the traffic in per cent, at most one decimal: `80 %`, `33.3 %`. */
export function sharePercent(weight: number, total: number): string {
  const percent = total > 0 ? (weight / total) * 100 : 0;
  return `${Number(percent.toFixed(1))} %`;
}

/** A traffic split in one line: `v1 80 % · v2 (champion) 20 %` (weights are relative). */
export function trafficText(traffic: readonly TrafficShare[]): string {
  const total = traffic.reduce((sum, t) => sum + t.weight, 0);
  return traffic.map((t) => `v${t.version}${t.alias === null ? '' : ` (${t.alias})`} ${sharePercent(t.weight, total)}`).join(' · ');
}

/** Logging in a few words: `on, 100 % of rows` or `off`. */
export function loggingText(logging: { readonly enabled: boolean; readonly sampleRate: number }): string {
  return logging.enabled ? `on, ${sharePercent(logging.sampleRate, 1)} of rows` : 'off';
}

/** A latency in milliseconds (sub-millisecond ones too); "—" before the first request. */
export function latencyText(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : `${formatNumber(ms, 3)} ms`;
}

/** RUNNING or STOPPED as a badge: green while it answers predictions. */
export function DeploymentStateBadge({ state }: { state: string }) {
  const running = state === 'RUNNING';
  return <span className={running ? 'badge online' : 'badge'}>{running ? 'running' : 'stopped'}</span>;
}

/** Class probabilities in class order, each to four significant digits; "—" when the model gives none. */
export function probabilitiesText(probabilities: readonly number[] | null | undefined): string {
  return probabilities && probabilities.length > 0 ? probabilities.map((p) => formatNumber(p)).join(', ') : '—';
}
