import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The real `granary serve` process, as an operator starts it: first start, second start, SIGTERM.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VIEWER = '{ viewer { project { name } } }';

interface Served {
  readonly child: ChildProcess;
  /** Base URL as the server printed it. */
  readonly url: string;
  stdout(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node bin/granary.js serve` on a free port and resolves once it prints its URL. */
async function spawnServer(dataDir: string): Promise<Served> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) if (process.env[name]) env[name] = process.env[name]!;
  Object.assign(env, { PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' });
  const child = spawn(process.execPath, ['bin/granary.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 15 s:\n${out}\n${err}`)), 15_000);
    const check = () => {
      const match = /serving GraphQL at (http:\/\/\S+?)\/graphql/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code }) => reject(new Error(`exited with ${code} before serving:\n${out}\n${err}`)));
  });
  return { child, url, stdout: () => out, exited };
}

async function viewer(url: string, key: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: VIEWER }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Resolves to true when a new TCP connection to `url` is refused. */
function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Resolves with the first chunk of data the socket receives that contains `text`. */
function received(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(text)) {
        socket.off('data', onData);
        resolve(seen);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`socket closed; received: ${seen}`)));
  });
}

let dataDir: string;
let first: Served | undefined;
let second: Served | undefined;
let adminKey: string;
let firstAnswer: { status: number; body: any };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'granary-shutdown-'));
  first = await spawnServer(dataDir);
  adminKey = readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
  firstAnswer = await viewer(first.url, adminKey);
});

afterAll(async () => {
  for (const served of [first, second]) {
    if (served && served.child.exitCode === null && served.child.signalCode === null) {
      served.child.kill('SIGKILL');
      await served.exited;
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('granary serve, first start', () => {
  // How fast it starts is measured by bench/cold-start.ts (npm run bench:cold-start), not here:
  // a busy machine would fail a timed assertion without anything being wrong.
  it('answers a query with the admin key once it prints its URL', () => {
    expect(firstAnswer).toEqual({ status: 200, body: { data: { viewer: { project: { name: 'default' } } } } });
  });

  it('writes the admin key with mode 0600 and prints it once', () => {
    expect(adminKey).toMatch(/^gra_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(dataDir, 'admin.key')).mode & 0o777).toBe(0o600);
    expect(first!.stdout().split(adminKey).length - 1).toBe(1);
  });

  it('on SIGTERM finishes the request in flight, refuses new connections and exits 0', async () => {
    const served = first!;
    const { port } = new URL(served.url);
    const body = Buffer.from(JSON.stringify({ query: VIEWER }));
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    // `Expect: 100-continue` makes the server say when it has the headers: from then on the
    // request is in flight, its body still arriving.
    const continued = received(socket, '100 Continue');
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${adminKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await continued;
    socket.write(body.subarray(0, 10));

    served.child.kill('SIGTERM');
    const deadline = Date.now() + 5000;
    while (!(await refusesConnections(served.url))) {
      if (Date.now() > deadline) throw new Error('still accepting connections 5 s after SIGTERM');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(served.child.exitCode).toBeNull();

    const response = received(socket, '"name":"default"');
    socket.write(body.subarray(10));
    const raw = await response;
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.slice(raw.indexOf('\r\n\r\n{') + 4)).toBe(JSON.stringify({ data: { viewer: { project: { name: 'default' } } } }));
    // The socket stays open, as a keep-alive client leaves it.
    const stoppedAt = Date.now();
    expect(await served.exited).toEqual({ code: 0, signal: null });
    // At once: neither the client's idle keep-alive connection nor the 10 s grace period holds it.
    expect(Date.now() - stoppedAt).toBeLessThan(2500);
    socket.destroy();
  });
});

describe('granary serve, second start', () => {
  it('keeps the key, does not print it again, and still accepts it', async () => {
    second = await spawnServer(dataDir);
    expect(readFileSync(join(dataDir, 'admin.key'), 'utf8').trim()).toBe(adminKey);
    expect((await viewer(second.url, adminKey)).body.data.viewer.project.name).toBe('default');
    expect(second.stdout()).not.toContain(adminKey);
    expect(second.stdout()).not.toContain('Created project');
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});
