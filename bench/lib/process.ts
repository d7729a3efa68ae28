import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
