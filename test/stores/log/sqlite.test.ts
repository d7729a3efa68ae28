import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../../../src/errors.ts';
import { type LogMessage, NatsStreamLog, openStreamLog, SqliteStreamLog } from '../../../src/stores/log/index.ts';
import { eventually, streamLogContract } from './stream-log.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'granary-log-'));
let files = 0;
const newFile = () => join(dir, `log-${++files}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every instance opens the same file, as processes sharing a data directory do.
const shared = newFile();
streamLogContract('sqlite', () => new SqliteStreamLog({ file: shared, leaseMs: 500 }));

const encoder = new TextEncoder();

describe('SqliteStreamLog', () => {
  it('keeps an append that returned when its process is killed right after', async () => {
    const file = newFile();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./append-and-hang.ts', import.meta.url)), file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const sequence = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) {
          child.kill('SIGKILL');
          resolve(Number(out.trim()));
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before appending`)));
    });
    await new Promise((resolve) => child.once('close', resolve));
    expect(child.signalCode).toBe('SIGKILL');
    expect(sequence).toBe(1);
    const log = new SqliteStreamLog({ file });
    const [message] = await log.read('killed', { from: 1, max: 10 });
    expect(message?.sequence).toBe(1);
    expect(new TextDecoder().decode(message?.data)).toBe('survives');
    await log.close();
  });

  it('takes over the lease of a consumer whose process died once it expires', async () => {
    const file = newFile();
    const log = new SqliteStreamLog({ file, leaseMs: 200 });
    await log.ensure('s', 'p');
    for (let i = 0; i < 3; i++) await log.append('s', 'p.x', encoder.encode(`m${i}`));
    const raw = new Database(file);
    raw.prepare("INSERT INTO log_consumers (stream, name, owner, lease_until) VALUES ('s', 'c', 'dead', ?)").run(Date.now() + 300);
    raw.close();
    const seen: number[] = [];
    const consumer = log.consume({ stream: 's', name: 'c', batch: 10, handle: async (ms) => void seen.push(...ms.map((m) => m.sequence)) });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen).toStrictEqual([]);
    await eventually(() => expect(seen).toStrictEqual([1, 2, 3]));
    await consumer.stop();
    await log.close();
  });

  it('takes over at once the lease of a consumer whose process on this host is gone, and waits out a live one', async () => {
    const file = newFile();
    const log = new SqliteStreamLog({ file, leaseMs: 60_000 });
    await log.ensure('s', 'p');
    for (let i = 0; i < 3; i++) await log.append('s', 'p.x', encoder.encode(`m${i}`));
    const gone = spawn(process.execPath, ['-e', '0']);
    const deadPid = gone.pid!;
    await new Promise((resolve) => gone.once('exit', resolve));
    const raw = new Database(file);
    const hold = raw.prepare('INSERT INTO log_consumers (stream, name, owner, lease_until) VALUES (?, ?, ?, ?)');
    hold.run('s', 'dead', `${hostname()}/${deadPid}/x`, Date.now() + 60_000);
    // A live process of this host (this one's parent) keeps its lease until it runs out.
    hold.run('s', 'live', `${hostname()}/${process.ppid}/x`, Date.now() + 60_000);
    raw.close();
    const seen: Record<string, number[]> = { dead: [], live: [] };
    const consumers = ['dead', 'live'].map((name) =>
      log.consume({ stream: 's', name, batch: 10, handle: async (ms) => void seen[name]!.push(...ms.map((m) => m.sequence)) }),
    );
    await eventually(() => expect(seen.dead).toStrictEqual([1, 2, 3]));
    expect(seen.live).toStrictEqual([]);
    for (const c of consumers) await c.stop();
    await log.close();
  });

  it('keeps renewing the lease while a handler runs longer than it', async () => {
    const file = newFile();
    const a = new SqliteStreamLog({ file, leaseMs: 100 });
    const b = new SqliteStreamLog({ file, leaseMs: 100 });
    await a.ensure('s', 'p');
    for (let i = 0; i < 6; i++) await a.append('s', 'p.x', encoder.encode(`m${i}`));
    const handled: number[] = [];
    const slow = async (ms: readonly LogMessage[]) => {
      await new Promise((resolve) => setTimeout(resolve, 350));
      handled.push(...ms.map((m) => m.sequence));
    };
    const ca = a.consume({ stream: 's', name: 'c', batch: 3, handle: slow });
    const cb = b.consume({ stream: 's', name: 'c', batch: 3, handle: slow });
    await eventually(async () => expect((await a.consumerState('s', 'c')).ackFloor).toBe(6));
    await Promise.all([ca.stop(), cb.stop()]);
    expect(handled).toStrictEqual([1, 2, 3, 4, 5, 6]);
    await a.close();
    await b.close();
  });
});

describe('openStreamLog', () => {
  it('opens SQLite in <dataDir>/stream/log.db by default', async () => {
    const dataDir = join(dir, 'data', 'nested');
    const log = await openStreamLog({ dataDir, url: '' });
    expect(log).toBeInstanceOf(SqliteStreamLog);
    expect(existsSync(join(dataDir, 'stream', 'log.db'))).toBe(true);
    await log.close();
  });

  it('rejects other schemes without echoing the URL', async () => {
    await expect(openStreamLog({ dataDir: dir, url: 'kafka://user:secret@host' })).rejects.toBeInstanceOf(ValidationError);
    await expect(openStreamLog({ dataDir: dir, url: 'kafka://user:secret@host' })).rejects.not.toThrow(/secret/);
    expect(NatsStreamLog).toBeTypeOf('function');
  });
});
