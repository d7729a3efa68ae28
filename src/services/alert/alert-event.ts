/** Something that may deserve an alert; alert routes decide which receivers get it. */
export interface AlertEvent {
  readonly type: 'JOB_FAILED' | 'JOB_SUCCEEDED' | 'JOB_LONG_RUNNING' | 'VALIDATION_FAILED' | 'STATISTICS_COMPUTED';
  /** What it is about: a job, or a feature group. */
  readonly subject: { readonly kind: 'Job' | 'FeatureGroup'; readonly name: string; readonly version?: number | null };
  /** One line for people. */
  readonly message: string;
  /** JSON-safe details (execution id and state, validation report summary, statistics id, …). */
  readonly details?: Record<string, unknown>;
}

/**
 * Where services report alert events. Fire and forget: raising never throws and never blocks the
 * caller's work; delivery (routing, signing, retries) happens behind it.
 */
export interface AlertSink {
  raise(projectId: string, event: AlertEvent): void;
}

/** Drops every event: for processes and tests without alerting. */
export const noAlerts: AlertSink = { raise() {} };

/** Every alert event type, in the order the API lists them. */
export const ALERT_EVENT_TYPES: readonly AlertEvent['type'][] = ['JOB_FAILED', 'JOB_SUCCEEDED', 'JOB_LONG_RUNNING', 'VALIDATION_FAILED', 'STATISTICS_COMPUTED'];

/** Every kind of alert subject. */
export const ALERT_SUBJECT_KINDS: readonly AlertEvent['subject']['kind'][] = ['Job', 'FeatureGroup'];
