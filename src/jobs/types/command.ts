import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { JobType } from '../job-type.ts';

const config = z.object({
  command: z.string().min(1, 'command is required'),
  args: z.array(z.string()).default([]),
  cwd: z.string().min(1).nullish(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a variable name'), z.string()).nullish(),
  timeoutSeconds: z.number().positive().nullish(),
});

/** Variables a command inherits from the server; everything else (database URLs, keys) stays out. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR', 'SYSTEMROOT'];

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
    'Runs a program without a shell: config `{ command, args, cwd?, env?, timeoutSeconds? }`; output lines go to the execution log. ADMIN keys only.',
  config,
  scope: 'ADMIN',
  resumable: false,
  async run(ctx) {
    const { command: file, args, cwd, env, timeoutSeconds } = ctx.config;
    ctx.signal.throwIfAborted();
    const inherited = Object.fromEntries(INHERITED.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
    const child = spawn(file, args, { cwd: cwd ?? undefined, env: { ...inherited, ...env }, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [
      new Promise<void>((resolve) => createInterface({ input: child.stdout! }).on('line', (l) => ctx.log(l)).once('close', resolve)),
      new Promise<void>((resolve) => createInterface({ input: child.stderr! }).on('line', (l) => ctx.log(`[stderr] ${l}`)).once('close', resolve)),
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
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      await Promise.all(lines);
      if (reason) throw new Error(`${file} ${reason}${signal ? ` (${signal})` : ''}`);
      if (code !== 0) throw new Error(`${file} exited with ${code === null ? `signal ${signal}` : `code ${code}`}`);
      ctx.log(`${file} exited with code 0`);
    } finally {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  },
};
