import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The HTTP edge against hostile and careless input: what it refuses, and what it logs.

let srv: TestServer;
const logLines: string[] = [];
const logged = () => logLines.map((line) => JSON.parse(line) as Record<string, any>);

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  srv = await startTestServer({ logger: pino({ level: 'debug' }, sink) });
});

afterAll(async () => {
  await srv?.close();
});

describe('logging', () => {
  beforeEach(() => {
    logLines.length = 0;
  });

  it('logs a typed domain error at info, without a stack, and no error', async () => {
    const { key } = await srv.newProject('log');
    const bad = await srv.gql('{ lineage(id: "not-an-id") { nodes { id } } }', {}, key);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const lines = logged();
    // pino levels: 30 info, 50 error.
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const refused = lines.filter((l) => l.msg === 'request refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 30, error: { type: 'ValidationError', code: 'BAD_USER_INPUT' } });
    expect(JSON.stringify(lines)).not.toMatch(/"stack"|\n\s+at /);
  });

  it('logs an unexpected failure as an error with its stack, and masks it for the client', async () => {
    const { key } = await srv.newProject('log');
    const lineage = srv.app.services.lineage;
    const original = lineage.graph;
    lineage.graph = () => Promise.reject(new TypeError('internal detail /srv/secret/path'));
    try {
      const failed = await srv.gql('{ lineage(id: "x") { nodes { id } } }', {}, key);
      expect(failed.errors?.[0]?.message).toBe('Unexpected error.');
      expect(JSON.stringify(failed)).not.toContain('/srv/secret/path');
    } finally {
      lineage.graph = original;
    }
    const errors = logged().filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ msg: 'unexpected error', err: { type: 'TypeError', message: 'internal detail /srv/secret/path' } });
    expect(errors[0]!.err.stack).toContain('TypeError');
  });
});
