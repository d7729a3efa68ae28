/**
 * Names of the keys the runner mints for job runs (`job:<job>#<execution id>`): `apiKeys` lists
 * them as what they are, the runner finds them by name to revoke them, and no other key may take
 * such a name.
 */
export function runKeyName(jobName: string, executionId: string): string {
  return `job:${jobName}#${executionId}`;
}

/** Whether a key name is one the runner gives run keys. */
export function isRunKeyName(name: string): boolean {
  return /^job:.*#/.test(name);
}
