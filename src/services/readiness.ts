/** The outcome of one readiness check. */
export type CheckOutcome = 'ok' | 'failed' | 'timeout';

export interface ReadinessReport {
  readonly ready: boolean;
  /** False while the server drains (after SIGTERM): it finishes requests but should get no new ones. */
  readonly draining: boolean;
  /** Each configured check by name (`metadata`, `migrations`, `online`, `log`). */
  readonly checks: Readonly<Record<string, CheckOutcome>>;
}

/** A check: resolves when the dependency answers; rejects (with a reason for the server log) when not. */
export type ReadinessCheck = () => Promise<void>;

/**
 * Whether this process should receive traffic (`/readyz`): every configured store answers within
 * the timeout and the metadata migrations are applied, and the server is not draining. Distinct
 * from `/healthz` (the process is up and its database answers). Checks run side by side; a
 * check that has passed once and cannot fail afterwards (`sticky`, the migrations) is not run again.
 */
export class Readiness {
  #draining = false;
  readonly #passed = new Set<string>();

  constructor(
    private readonly checks: Readonly<Record<string, ReadinessCheck>>,
    private readonly onFailure: (name: string, error: unknown) => void,
    private readonly sticky: ReadonlySet<string> = new Set(),
  ) {}

  /** From now on the process reports not ready (the shutdown sequence calls this first). */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  async check(timeoutMs = 2000): Promise<ReadinessReport> {
    const names = Object.keys(this.checks);
    const outcomes = await Promise.all(names.map((name) => (this.#passed.has(name) ? 'ok' : this.#run(name, timeoutMs))));
    const checks = Object.fromEntries(names.map((name, i) => [name, outcomes[i]!]));
    const ready = !this.#draining && outcomes.every((outcome) => outcome === 'ok');
    return { ready, draining: this.#draining, checks };
  }

  async #run(name: string, timeoutMs: number): Promise<CheckOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const outcome = await Promise.race([this.checks[name]!().then(() => 'ok' as const), timedOut]);
      if (outcome === 'ok' && this.sticky.has(name)) this.#passed.add(name);
      if (outcome === 'timeout') this.onFailure(name, new Error(`no answer within ${timeoutMs} ms`));
      return outcome;
    } catch (error) {
      this.onFailure(name, error);
      return 'failed';
    } finally {
      clearTimeout(timer);
    }
  }
}
