/** Where an execution is in its life. INITIALIZING: created, waiting for a slot; then RUNNING; then one of the final states. */
export const EXECUTION_STATES = ['INITIALIZING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'KILLED'] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];
export type FinalState = Extract<ExecutionState, 'SUCCEEDED' | 'FAILED' | 'KILLED'>;

/** What started an execution. */
export const EXECUTION_TRIGGERS = ['MANUAL', 'SCHEDULE', 'COMMIT'] as const;
export type ExecutionTrigger = (typeof EXECUTION_TRIGGERS)[number];

/** States of executions that have not ended. */
export const LIVE_STATES: readonly ExecutionState[] = ['INITIALIZING', 'RUNNING'];

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'P2002';
}
