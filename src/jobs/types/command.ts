import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { DomainError, ValidationError } from '../../errors.ts';
import { grants, SCOPES, type Scope } from '../../services/viewer.ts';
import type { JobType } from '../job-type.ts';

const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a variable name');

/** Variables the runner sets for every run; a config may not set them. */
export const RESERVED_ENV = ['GRANARY_API_KEY', 'GRANARY_URL', 'GRANARY_JOB_ARGS', 'GRANARY_EXECUTION_ID'] as const;

/** What a stored secret looks like to clients. */
export const REDACTED = '***';

/** A Granary API key secret anywhere in a value (`gra_<prefix>_<secret>`). */
const API_KEY_PATTERN = /gra_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/;

const config = z.object({
  command: z.string().min(1, 'command is required'),
  args: z.array(z.string()).default([]),
  cwd: z.string().min(1).nullish(),
  /** Plain variables, readable by anyone who can read the job. */
  env: z.record(variableName, z.string()).nullish(),
  /** Secret variables: sealed at rest, never returned, given to the command in clear. */
  secretEnv: z.record(variableName, z.string()).nullish(),
  /** Scope of the run's own key (`GRANARY_API_KEY`); default WRITE, never above the creator's. */
  scope: z.enum(SCOPES as [Scope, ...Scope[]]).nullish(),
  timeoutSeconds: z.number().positive().nullish(),
});

/**
 * Arguments of a run: an array of strings is appended to the command's arguments; any JSON value
 * is also given as `GRANARY_JOB_ARGS` (JSON text).
 */
const runArgs = z.unknown().superRefine((value, ctx) => {
  if (!Array.isArray(value)) return;
  value.forEach((item, i) => {
    if (typeof item !== 'string') ctx.addIssue({ code: 'custom', path: [i], message: 'an array of args is appended to the command line: strings only' });
  });
});

/** Variables a command inherits from the server; everything else (database URLs, keys) stays out. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

/** How long a run key lives without `timeoutSeconds` (it is revoked sooner, when the run ends). */
export const RUN_KEY_TTL_SECONDS = 24 * 3600;
/** A run key outlives the timeout by this much: the command's SIGTERM grace and the runner's end. */
const RUN_KEY_GRACE_SECONDS = 60;

function mapValues(record: Record<string, string>, f: (value: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
}

/** After SIGTERM, how long a command may take to exit before SIGKILL. */
const KILL_GRACE_MS = 5000;

/**
 * COMMAND: runs a program without a shell (arguments are passed as they are, never interpreted),
 * with each stdout and stderr line appended to the execution log. Stopping the execution (or a
 * timeout) sends SIGTERM, then SIGKILL after a grace period. A non-zero exit fails the run. ADMIN
 * keys only: a command runs with the server's rights on its machine.
 */
export const command: JobType<typeof config> = {
  name: 'COMMAND',
  description:
    'Runs a program without a shell: config `{ command, args, cwd?, env?, secretEnv?, scope?, timeoutSeconds? }`; output lines go to the execution log. ' +
    'Each run gets GRANARY_URL and its own GRANARY_API_KEY (scope `scope`, default WRITE; revoked when the run ends); `secretEnv` values are sealed and read back as "***"; ' +
    '`runJob(args:)` is GRANARY_JOB_ARGS (JSON), and an array of strings is appended to the arguments. ADMIN keys only.',
  config,
  scope: 'ADMIN',
  resumable: false,
  args: runArgs,
  credentials: (c) => ({
    scope: c.scope ?? 'WRITE',
    ttlSeconds: c.timeoutSeconds ? Math.ceil(c.timeoutSeconds) + RUN_KEY_GRACE_SECONDS : RUN_KEY_TTL_SECONDS,
  }),
  async check(c, ctx) {
    for (const field of ['env', 'secretEnv'] as const) {
      for (const [name, value] of Object.entries(c[field] ?? {})) {
        if ((RESERVED_ENV as readonly string[]).includes(name)) {
          throw ValidationError.at([field, name], `${name} is set by the runner for every run (its own key and the server's URL); do not set it`);
        }
        if (field === 'env' && API_KEY_PATTERN.test(value)) {
          throw ValidationError.at(
            [field, name],
            "looks like a Granary API key: env is readable by every key of the project; put secrets in secretEnv, or use the run's own GRANARY_API_KEY",
          );
        }
      }
    }
    c.args.forEach((arg, i) => {
      if (API_KEY_PATTERN.test(arg)) {
        throw ValidationError.at(
          ['args', i],
          "looks like a Granary API key: args are readable by every key of the project; put secrets in secretEnv, or use the run's own GRANARY_API_KEY",
        );
      }
    });
    const scope = c.scope ?? 'WRITE';
    if (!grants(ctx.viewer.scopes, scope)) {
      throw ValidationError.at(['scope'], `the run key's scope ${scope} is above the scopes of the key creating the job`);
    }
  },
  secrets: {
    seal: (c, box) => (c.secretEnv ? { ...c, secretEnv: mapValues(c.secretEnv, (v) => box.seal(v)) } : c),
    open: (c, box) => (c.secretEnv ? { ...c, secretEnv: mapValues(c.secretEnv, (v) => box.open(v)) } : c),
    redact(stored) {
      if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return stored;
      const c = stored as Record<string, unknown>;
      const record = (value: unknown, f: (v: unknown) => unknown) =>
        value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, f(v)])) : value;
      // env values and args holding a key (stored before such values were refused) are hidden as well.
      const hideKey = (v: unknown) => (typeof v === 'string' && API_KEY_PATTERN.test(v) ? REDACTED : v);
      return {
        ...c,
        ...(Array.isArray(c.args) ? { args: c.args.map(hideKey) } : {}),
        ...(c.env !== undefined ? { env: record(c.env, hideKey) } : {}),
        ...(c.secretEnv !== undefined ? { secretEnv: record(c.secretEnv, () => REDACTED) } : {}),
      };
    },
  },
  async run(ctx) {
    const { command: file, cwd, env, secretEnv, timeoutSeconds } = ctx.config;
    ctx.signal.throwIfAborted();
    const inherited = Object.fromEntries(INHERITED.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
    const given = ctx.args;
    const args = Array.isArray(given) ? [...ctx.config.args, ...given.map(String)] : ctx.config.args;
    const granary: Record<string, string> = { GRANARY_EXECUTION_ID: ctx.executionId };
    if (given != null) granary.GRANARY_JOB_ARGS = JSON.stringify(given);
    if (ctx.credentials) {
      granary.GRANARY_API_KEY = ctx.credentials.apiKey;
      granary.GRANARY_URL = ctx.credentials.url;
    }
    const childEnv = { ...inherited, ...env, ...secretEnv, ...granary };
    const child = spawn(file, args, { cwd: cwd ?? undefined, env: childEnv, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [
      new Promise<void>((resolve) =>
        createInterface({ input: child.stdout! })
          .on('line', (l) => ctx.log(l))
          .once('close', resolve),
      ),
      new Promise<void>((resolve) =>
        createInterface({ input: child.stderr! })
          .on('line', (l) => ctx.log(`[stderr] ${l}`))
          .once('close', resolve),
      ),
    ];
    let reason: string | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (why: string) => {
      if (reason || child.exitCode !== null) return;
      reason = why;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => terminate('stopped');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timeout = timeoutSeconds ? setTimeout(() => terminate(`timed out after ${timeoutSeconds} s`), timeoutSeconds * 1000) : undefined;
    try {
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', (error: NodeJS.ErrnoException) => reject(startError(file, cwd, error)));
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      await Promise.all(lines);
      if (reason) throw new DomainError(`${file} ${reason}${signal ? ` (${signal})` : ''}`);
      if (code !== 0) throw new DomainError(`${file} exited with ${code === null ? `signal ${signal}` : `code ${code}`}`);
      ctx.log(`${file} exited with code 0`);
    } finally {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  },
};

/** Why a command did not start, in the user's terms (the run's log is readable by clients). */
function startError(file: string, cwd: string | null | undefined, error: NodeJS.ErrnoException): DomainError {
  if (error.code === 'ENOENT') return new DomainError(`${file} could not start: no such command${cwd ? ` or working directory ${cwd}` : ''}`);
  if (error.code === 'EACCES') return new DomainError(`${file} could not start: permission denied`);
  return new DomainError(`${file} could not start${error.code ? ` (${error.code})` : ''}`);
}
