import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GranaryClient, GranaryOverloadedError, GranaryValidationError } from 'granary/client';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let base: string;
beforeAll(async () => {
  srv = await startTestServer();
  base = await srv.listen();
});
afterAll(async () => {
  await srv?.close();
});

const overloaded = { data: { ingestFeatureGroupRows: { __typename: 'OverloadedError', message: 'behind', retryAfterMs: 20 } } };

/** A fetch that answers the first `times` ingests OverloadedError itself, and passes the rest on. */
function overloadedFetch(times: number) {
  let refused = 0;
  const sent: string[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const body = typeof init?.body === 'string' ? init.body : '';
    if (body.includes('ingestFeatureGroupRows')) {
      sent.push(body);
      if (refused < times) {
        refused++;
        return new Response(JSON.stringify(overloaded), { status: 200, headers: { 'content-type': 'application/json' } });
      }
    }
    return fetch(input, init);
  };
  return { fetcher, sent };
}

describe('GranaryClient.ingest', () => {
  it('streams rows in and answers where they are; a bad row throws a GranaryValidationError', async () => {
    const { key } = await srv.newProject('ingestclient');
    const client = new GranaryClient({ url: base, apiKey: key });
    await client.ensureFeatureGroup({
      name: 'clicks',
      primaryKey: ['id'],
      eventTime: 'ts',
      features: [
        { name: 'id', type: 'BIGINT' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'page', type: 'STRING' },
      ],
    });
    const rows = [
      { id: 1, ts: '2026-01-01T00:00:00Z', page: '/a' },
      { id: 2, ts: '2026-01-01T00:00:01Z', page: '/b' },
    ];
    const done = await client.ingest('clicks', rows, { idempotencyKey: 'k1', waitFor: 'OFFLINE' });
    expect(done).toMatchObject({ accepted: 2, duplicate: false, commit: { rowCount: 2 } });
    expect(done.commit?.logRange?.to).toBeGreaterThanOrEqual(done.sequence);
    const again = await client.ingest('clicks', rows, { idempotencyKey: 'k1', waitFor: 'ACCEPTED' });
    expect(again).toMatchObject({ duplicate: true, sequence: done.sequence });
    expect((await client.read('clicks')).rowCount).toBe(2);
    await expect(client.ingest('clicks', [{ id: 'x', ts: '2026-01-01T00:00:00Z' }])).rejects.toBeInstanceOf(GranaryValidationError);
  });

  it('waits retryAfterMs and sends again while the server is overloaded, then throws GranaryOverloadedError', async () => {
    const { key } = await srv.newProject('ingestclient');
    await new GranaryClient({ url: base, apiKey: key }).ensureFeatureGroup({
      name: 'clicks',
      primaryKey: ['id'],
      features: [{ name: 'id', type: 'BIGINT' }],
    });
    const twice = overloadedFetch(2);
    const patient = new GranaryClient({ url: base, apiKey: key, fetch: twice.fetcher });
    expect(await patient.ingest('clicks', [{ id: 1 }], { idempotencyKey: 'same' })).toMatchObject({ accepted: 1 });
    expect(twice.sent).toHaveLength(3);
    expect(new Set(twice.sent.map((b) => JSON.parse(b).variables.idempotencyKey))).toEqual(new Set(['same']));

    const always = overloadedFetch(100);
    const client = new GranaryClient({ url: base, apiKey: key, fetch: always.fetcher });
    const error = await client.ingest('clicks', [{ id: 2 }], { attempts: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GranaryOverloadedError);
    expect((error as GranaryOverloadedError).retryAfterMs).toBe(20);
    expect(always.sent).toHaveLength(3);
  });
});
