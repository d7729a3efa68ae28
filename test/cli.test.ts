import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The `granary` command as a user runs it: `node bin/granary.js …`. Every run is spawned up
// front and in parallel (each costs a second of start-up), then the tests read the results.
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dataDir = mkdtempSync(join(tmpdir(), 'granary-cli-'));

/** Holds a port, so that a server told to listen on it cannot. */
let occupied: Server;
let busyPort: number;
const busyDataDir = mkdtempSync(join(tmpdir(), 'granary-cli-busy-'));

function granary(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', GRANARY_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', ...extraEnv };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/granary.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A command that should have refused its arguments but started a server instead.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const COMMANDS = {
  help: ['--help'],
  helpCommand: ['help'],
  serveHelp: ['serve', '--help'],
  migrateHelp: ['migrate', '--help'],
  printSchemaHelp: ['print-schema', '--help'],
  unknown: ['frobnicate'],
  serveBadOption: ['serve', '--port', '5000'],
  printSchemaBadOption: ['print-schema', '--outptu', 'x.graphql'],
  printSchema: ['print-schema'],
} as const;

let runs: Record<keyof typeof COMMANDS | 'busyPort', Run>;
beforeAll(async () => {
  occupied = createServer();
  await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
  busyPort = (occupied.address() as { port: number }).port;
  const entries = Object.entries(COMMANDS) as [keyof typeof COMMANDS, readonly string[]][];
  const [busy, ...results] = await Promise.all([
    granary(['serve'], { PORT: String(busyPort), GRANARY_DATA_DIR: busyDataDir }),
    ...entries.map(([, args]) => granary(args)),
  ]);
  runs = { ...Object.fromEntries(entries.map(([name], i) => [name, results[i]!])), busyPort: busy! } as typeof runs;
});
afterAll(() => {
  occupied?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(busyDataDir, { recursive: true, force: true });
});

describe('granary --help', () => {
  it('lists the commands and exits 0', () => {
    for (const run of [runs.help, runs.helpCommand]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^Usage: granary \[command\]/);
      for (const command of ['serve', 'migrate', 'print-schema']) expect(run.stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
      expect(run.stderr).toBe('');
    }
  });

  it.each([
    ['serve', 'serveHelp', /^Usage: granary serve\n[\s\S]*SIGTERM/],
    ['migrate', 'migrateHelp', /^Usage: granary migrate \[options\]\n[\s\S]*--create NAME[\s\S]*--check/],
    ['print-schema', 'printSchemaHelp', /^Usage: granary print-schema \[--output FILE\]\n/],
  ] as const)('%s --help prints its usage and exits 0 without doing anything', (_command, run, usage) => {
    expect(runs[run].code, runs[run].stderr).toBe(0);
    expect(runs[run].stdout).toMatch(usage);
    expect(runs[run].stderr).toBe('');
  });

  it('starts nothing: no data directory is written by help, usage errors or print-schema', () => {
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('usage errors', () => {
  it('exits 2 on an unknown command, naming it and showing the usage', () => {
    expect(runs.unknown.code).toBe(2);
    expect(runs.unknown.stderr).toContain('unknown command "frobnicate"');
    expect(runs.unknown.stderr).toContain('Usage: granary');
    expect(runs.unknown.stdout).toBe('');
  });

  it('exits 2 on an option serve does not have, instead of serving without it', () => {
    expect(runs.serveBadOption.code, runs.serveBadOption.stdout).toBe(2);
    expect(runs.serveBadOption.stderr).toContain('--port 5000');
    expect(runs.serveBadOption.stdout).not.toContain('serving');
  });

  it('exits 2 on an option print-schema does not have', () => {
    expect(runs.printSchemaBadOption.code).toBe(2);
    expect(runs.printSchemaBadOption.stderr).toContain('--outptu');
    expect(runs.printSchemaBadOption.stdout).toBe('');
  });
});

describe('granary serve on a port in use', () => {
  it('exits 1 saying which address it could not listen on', () => {
    expect(runs.busyPort.code).toBe(1);
    expect(runs.busyPort.stderr).toContain(`granary: cannot listen on 127.0.0.1:${busyPort} (EADDRINUSE); set PORT or HOST`);
    expect(runs.busyPort.stdout).not.toContain('serving');
  });
});

describe('granary print-schema', () => {
  it('prints exactly the committed schema.graphql', () => {
    expect(runs.printSchema.code, runs.printSchema.stderr).toBe(0);
    expect(runs.printSchema.stdout).toBe(readFileSync(join(ROOT, 'schema.graphql'), 'utf8'));
  });
});
