import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type RequestListener } from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The Node flags `npm start` runs the server with (package.json's start script,
 * `node <flags> bin/granary.js serve`): benchmarks start the server the same way.
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const m = /^node((?: --\S+)*) bin\/granary\.js serve$/.exec(pkg.scripts.start);
  if (!m) throw new Error(`package.json start script is not "node [flags] bin/granary.js serve": ${pkg.scripts.start}`);
  return m[1]!.split(' ').filter(Boolean);
}

/** The commit the server runs and whether src/ has uncommitted changes, printed with every result. */
export function gitState(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty > 0 ? ` + ${dirty} uncommitted change(s) in src/` : ''}`;
  } catch {
    return 'unknown (no git)';
  }
}

/**
 * Resolves to the first match of `pattern` (group 1) in a child's stdout, as it prints; rejects when
 * the child exits first or prints nothing matching within 60 s. `out`/`err` return what it printed.
 */
export function waitForPrintedUrl(
  child: ChildProcess,
  exited: Promise<unknown[]>,
  pattern: RegExp,
  label: string,
  out: () => string,
  err: () => string,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} printed no URL within 60 s:\n${out()}\n${err()}`)), 60_000);
    const check = () => {
      const match = pattern.exec(out());
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${String(code)} before serving:\n${out()}\n${err()}`));
    });
  });
}

/**
 * Serves a baseline server on a free loopback port in a child process: prints
 * `<label> at http://127.0.0.1:<port>/graphql` (what the parent waits for) and exits 0 on SIGTERM.
 */
export function serveBaseline(handler: RequestListener, label: string): void {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    process.stdout.write(`${label} at http://127.0.0.1:${address.port}/graphql\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/** A child process the benchmark started, with the URL (or other value) it printed when ready. */
export interface Child {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<unknown[]>;
  stdout(): string;
  stderr(): string;
}

/** The environment children get: only what Node needs to run, so the parent's settings do not leak into a measurement. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[name]) env[name] = process.env[name]!;
  return env;
}

/** Starts `node <argv>` in the repository root and resolves once its stdout matches `pattern` (group 1 is the child's `url`). */
export async function startChild(argv: string[], env: Record<string, string>, pattern: RegExp): Promise<Child> {
  const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = once(child, 'exit');
  const url = await waitForPrintedUrl(
    child,
    exited,
    pattern,
    argv.join(' '),
    () => out,
    () => err,
  );
  return { child, url, exited, stdout: () => out, stderr: () => err };
}

/** A Granary server on a data directory of its own, and the admin key it wrote there. */
export interface Granary extends Child {
  readonly dataDir: string;
  readonly key: string;
}

/**
 * Starts `node <nodeFlags> bin/granary.js serve` on a fresh temporary data directory (named
 * `<prefix>…`; PORT=0 on 127.0.0.1, NODE_ENV=production, LOG_LEVEL=warn) and resolves once it
 * serves. {@link stopGranary} stops it and removes the directory.
 */
export async function startGranary(prefix: string, nodeFlags: readonly string[], extraEnv: Record<string, string> = {}): Promise<Granary> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'production', ...extraEnv };
  try {
    const child = await startChild([...nodeFlags, 'bin/granary.js', 'serve'], env, /serving GraphQL at (http:\/\/\S+?\/graphql)/);
    return { ...child, dataDir, key: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim() };
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Stops a server {@link startGranary} started and removes its data directory. */
export async function stopGranary(granary: Granary): Promise<void> {
  await stopChild(granary);
  rmSync(granary.dataDir, { recursive: true, force: true });
}

/** Stops a child with SIGTERM (SIGKILL after 20 s) and waits for it to exit. */
export async function stopChild(c: Child): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 20_000);
  await c.exited;
  clearTimeout(timer);
}

/** CPU seconds (user + system, all threads) a process has used so far; NaN where /proc is missing. */
export function cpuSeconds(pid: number, thread?: number): number {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
