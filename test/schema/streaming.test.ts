import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphql, type VariablesOf } from '../../src/client/graphql.ts';
import { createGroup, projectOf, type Gql } from '../helpers/catalog.ts';
import { dataOf, ofType, startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribeSse } from '../helpers/sse.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ env: { GRANARY_STREAM_MATERIALIZE_TICK_MS: '100' } });
});
afterAll(async () => {
  await srv?.close();
});

const INGEST = graphql(`mutation Ingest($fg: FeatureGroupRef!, $rows: [JSON!]!, $key: String, $wait: IngestWait) {
  ingestFeatureGroupRows(featureGroup: $fg, rows: $rows, idempotencyKey: $key, waitFor: $wait) {
    __typename
    ... on IngestFeatureGroupRowsPayload { accepted duplicate sequence onlineAt commit { id rowCount storage logRange { from to } } }
    ... on ValidationError { message issues { path message } }
    ... on Error { message }
  }
}`);

const VIEW = graphql(`mutation View($name: String!, $group: String!) {
  createFeatureView(input: { name: $name, query: { featureGroup: { name: $group }, features: ["amount", "city"] } }) {
    __typename ... on Error { message }
  }
}`);

const VECTORS = graphql(
  `query Vectors($view: String!, $entries: [JSON!]!) { featureVectors(featureView: { name: $view }, entries: $entries) { record missing } }`,
);

const READ = graphql(`query Read($name: String!) { featureGroup(name: $name) { read(first: 1000) { records rowCount } commits { id rowCount storage } } }`);

/** An ingest's answer: the payload or a typed error. */
async function ingest(gql: Gql, variables: VariablesOf<typeof INGEST>) {
  return dataOf(await gql(INGEST, variables)).ingestFeatureGroupRows;
}

/** An ingest that must be accepted: its payload. */
async function accepted(gql: Gql, variables: VariablesOf<typeof INGEST>) {
  return ofType(await ingest(gql, variables), 'IngestFeatureGroupRowsPayload');
}

/** The group's offline rows and commits. */
async function offline(gql: Gql, name: string) {
  const group = dataOf(await gql(READ, { name })).featureGroup;
  if (!group) throw new Error(`no feature group ${name}`);
  return group;
}

/** A group of payments: id key, ts event time, amount, city; online enabled. */
async function payments(gql: Gql, name: string, online = true) {
  return createGroup(gql, {
    name,
    primaryKey: ['id'],
    eventTime: 'ts',
    onlineEnabled: online,
    features: [
      { name: 'id', type: 'BIGINT' },
      { name: 'ts', type: 'TIMESTAMP' },
      { name: 'amount', type: 'DOUBLE' },
      { name: 'city', type: 'STRING' },
    ],
  });
}

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

describe('streaming ingestion', () => {
  it('serves streamed rows through featureVector once ingest answers (waitFor ONLINE), newest event winning', async () => {
    const { gql } = await projectOf(srv, 'stream');
    await payments(gql, 'payments');
    expect(dataOf(await gql(VIEW, { name: 'pay_view', group: 'payments' })).createFeatureView.__typename).toBe('CreateFeatureViewPayload');
    const first = await accepted(gql, {
      fg: { name: 'payments' },
      rows: [
        { id: 1, ts: at(5), amount: 10.5, city: 'Oslo' },
        { id: 2, ts: at(5), amount: 3, city: 'Rome' },
      ],
    });
    expect(first).toMatchObject({ accepted: 2, duplicate: false, commit: null });
    expect(first.onlineAt).not.toBeNull();
    // An older event for key 1 does not replace the newer one; a newer one for key 2 does.
    await accepted(gql, {
      fg: { name: 'payments' },
      rows: [
        { id: 1, ts: at(1), amount: 99, city: 'Old' },
        { id: 2, ts: at(9), amount: 4, city: 'Milan' },
      ],
    });
    const vectors = dataOf(await gql(VECTORS, { view: 'pay_view', entries: [{ id: 1 }, { id: 2 }, { id: 3 }] })).featureVectors;
    expect(vectors.map((v) => v.record)).toEqual([
      { amount: 10.5, city: 'Oslo' },
      { amount: 4, city: 'Milan' },
      { amount: null, city: null },
    ]);
    expect(vectors[2]!.missing).toEqual(['payments']);
  });

  it('refuses a bad row with a typed error naming it and appends nothing', async () => {
    const { gql } = await projectOf(srv, 'stream');
    await payments(gql, 'payments');
    const cases: [Record<string, unknown>[], (string | number)[], RegExp][] = [
      [[{ id: 1, ts: at(1), amount: 'lots' }], ['rows', '1', 'amount'], /not a valid DOUBLE/],
      [[{ id: 1, ts: at(1) }, { ts: at(2) }], ['rows', '2', 'id'], /primary key "id" is null or missing/],
      [[{ id: 1, ts: at(1), colour: 'red' }], ['rows', '1', 'colour'], /unknown column "colour"/],
      [[{ id: 1, ts: 'yesterday' }], ['rows', '1', 'ts'], /not a valid TIMESTAMP/],
      [[{ id: 1.5, ts: at(1) }], ['rows', '1', 'id'], /not a valid BIGINT/],
      [['not a row' as unknown as Record<string, unknown>], ['rows', '1'], /not an object/],
      [[], ['rows'], /at least one row/],
    ];
    for (const [rows, path, message] of cases) {
      const refused = ofType(await ingest(gql, { fg: { name: 'payments' }, rows, wait: 'ACCEPTED' }), 'ValidationError', JSON.stringify(rows));
      expect(refused.issues[0]!.path).toEqual(path);
      expect(refused.message).toMatch(message);
    }
    const fresh = await gql(`{ featureGroup(name: "payments") { freshness { pendingRows lastOnlineWriteAt } deadLetters { id } } }`);
    expect(fresh.data.featureGroup).toEqual({ freshness: { pendingRows: 0, lastOnlineWriteAt: null }, deadLetters: [] });
    expect((await ingest(gql, { fg: { name: 'nope' }, rows: [{ id: 1 }] })).__typename).toBe('NotFoundError');
  });

  it('accepts the same rows with the same idempotency key once', async () => {
    const { gql } = await projectOf(srv, 'stream');
    await payments(gql, 'payments');
    const rows = [{ id: 7, ts: at(3), amount: 1, city: 'Pisa' }];
    const a = await accepted(gql, { fg: { name: 'payments' }, rows, key: 'batch-1', wait: 'OFFLINE' });
    const b = await accepted(gql, { fg: { name: 'payments' }, rows, key: 'batch-1', wait: 'OFFLINE' });
    expect(a).toMatchObject({ duplicate: false, commit: { rowCount: 1, storage: 'OFFLINE', logRange: { to: a.sequence } } });
    expect(b).toMatchObject({ duplicate: true, sequence: a.sequence });
    expect((await offline(gql, 'payments')).read.rowCount).toBe(1);
  });

  it('materializes streamed rows into offline commits holding each row once (waitFor OFFLINE)', async () => {
    const { gql } = await projectOf(srv, 'stream');
    await payments(gql, 'payments', false);
    for (let i = 0; i < 5; i++) {
      await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: i, ts: at(i), amount: i, city: `c${i}` }], wait: 'ACCEPTED' });
    }
    const last = await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: 9, ts: at(9), amount: 9 }], wait: 'OFFLINE' });
    expect(last.commit).not.toBeNull();
    const records = (await offline(gql, 'payments')).read.records as { id: number }[];
    expect(records.map((r) => r.id).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 9]);
    const fresh = await gql(`{ featureGroup(name: "payments") { freshness { pendingRows offlineLagMs lastOfflineCommitAt lastEventTime } } }`);
    expect(fresh.data.featureGroup.freshness).toMatchObject({ pendingRows: 0, offlineLagMs: 0, lastEventTime: at(9) });
  });

  it('commits a group’s waiting rows on its own after streamCommitIntervalMs', async () => {
    const { gql } = await projectOf(srv, 'stream');
    await payments(gql, 'payments', false);
    const set = await gql(`mutation { updateFeatureGroup(featureGroup: { name: "payments" }, input: { streamCommitIntervalMs: 1000 }) { __typename } }`);
    expect(set.data.updateFeatureGroup.__typename).toBe('UpdateFeatureGroupPayload');
    await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: 1, ts: at(1), amount: 1 }], wait: 'ONLINE' });
    const deadline = Date.now() + 10_000;
    let commits: unknown[] = [];
    while (Date.now() < deadline && commits.length === 0) {
      await new Promise((r) => setTimeout(r, 100));
      commits = (await offline(gql, 'payments')).commits;
    }
    expect(commits).toHaveLength(1);
  });

  it('shows no waiting rows once everything applied is committed, after a batch is delivered again with more messages (a crash before its acknowledgement)', async () => {
    const { gql, name: project } = await projectOf(srv, 'stream');
    await payments(gql, 'payments', false);
    const set = await gql(`mutation { updateFeatureGroup(featureGroup: { name: "payments" }, input: { streamCommitIntervalMs: 3600000 }) { __typename } }`);
    expect(set.data.updateFeatureGroup.__typename).toBe('UpdateFeatureGroupPayload');
    const a = await accepted(gql, { fg: { name: 'payments' }, rows: [1, 2, 3].map((id) => ({ id, ts: at(id), amount: id })), wait: 'ONLINE' });
    const b = await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: 4, ts: at(4), amount: 4 }], wait: 'ONLINE' });
    const { id: groupId } = await srv.app.prisma.featureGroup.findFirstOrThrow({
      where: { name: 'payments', project: { name: project } },
      select: { id: true },
    });
    // The process recorded the first message and died before acknowledging it; the log delivers
    // both messages again as one batch.
    await srv.app.prisma.streamProgress.update({ where: { featureGroupId: groupId }, data: { appliedSequence: BigInt(a.sequence), appliedRows: 3n } });
    const { names } = srv.app.services.streams;
    const subject = (await gql(`{ featureGroup(name: "payments") { streamSubject } }`)).data.featureGroup.streamSubject;
    const redelivered = await srv.app.log.read(names.stream(project), { from: a.sequence, subject, max: 2 });
    expect(redelivered.map((m) => m.sequence)).toEqual([a.sequence, b.sequence]);
    await srv.app.services.streams.applier.apply(project, redelivered);

    const done = await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: 5, ts: at(5), amount: 5 }], wait: 'OFFLINE' });
    expect(done.commit?.rowCount).toBe(5);
    const fresh = await gql(`{ featureGroup(name: "payments") { freshness { pendingRows } } }`);
    expect(fresh.data.featureGroup.freshness.pendingRows).toBe(0);
  });

  it('sets aside a published message with a bad row as a dead letter, and goes on', async () => {
    const { gql, name: project } = await projectOf(srv, 'stream');
    await payments(gql, 'payments');
    const subject = (await gql(`{ featureGroup(name: "payments") { streamSubject } }`)).data.featureGroup.streamSubject;
    const names = srv.app.services.streams.names;
    expect(subject).toBe(`${names.namespace}.${project}.payments.v1`);
    const log = srv.app.log;
    const publish = (body: unknown) => log.append(names.stream(project), subject, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
    await publish({ id: 1, ts: at(1), amount: 'NaN?', city: 'x' });
    await publish('{not json');
    await publish([{ id: 2, ts: at(2), amount: 2, city: 'ok' }]);
    const done = await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: 3, ts: at(3), amount: 3 }], wait: 'OFFLINE' });
    expect(done.commit?.rowCount).toBe(2);
    const dead = await gql(`{ featureGroup(name: "payments") { deadLetters { sequence reason payload } } }`);
    const letters = dead.data.featureGroup.deadLetters;
    expect(letters).toHaveLength(2);
    expect(letters[0].reason).toMatch(/not JSON/);
    expect(letters[1]).toMatchObject({
      reason: expect.stringMatching(/row 1, column "amount": .*not a valid DOUBLE/),
      payload: expect.stringContaining('NaN?'),
    });
  });

  it('commits a backlog in ranges of about streamCommitRows rows, messages whole, contiguous but for dead letters, each row once', async () => {
    const { gql, name: project } = await projectOf(srv, 'stream');
    await payments(gql, 'payments', false);
    const set = await gql(
      `mutation { updateFeatureGroup(featureGroup: { name: "payments" }, input: { streamCommitRows: 4, streamCommitIntervalMs: 3600000 }) { __typename } }`,
    );
    expect(set.data.updateFeatureGroup.__typename).toBe('UpdateFeatureGroupPayload');
    const names = srv.app.services.streams.names;
    const subject = (await gql(`{ featureGroup(name: "payments") { streamSubject } }`)).data.featureGroup.streamSubject;
    const rows = (ids: number[]) => ids.map((id) => ({ id, ts: at(id), amount: id, city: `c${id}` }));
    const publish = async (body: unknown) =>
      (await srv.app.log.append(names.stream(project), subject, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)))).sequence;
    const first = await publish(rows([1, 2, 3]));
    const second = await publish(rows([4, 5, 6]));
    const bad = await publish('{not json');
    await publish(rows([7]));
    await publish(rows([8, 9]));
    await accepted(gql, { fg: { name: 'payments' }, rows: rows([10]), wait: 'OFFLINE' });

    const group = (await gql(`{ featureGroup(name: "payments") { commits { rowCount logRange { from to } } read(first: 100) { records } } }`)).data
      .featureGroup;
    const ids = (group.read.records as { id: number }[]).map((r) => r.id).sort((x, y) => x - y);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const commits = (group.commits as { rowCount: number; logRange: { from: number; to: number } }[]).sort((x, y) => x.logRange.from - y.logRange.from);
    // The first range stops at the message that brings it to 4 rows or more: two messages of three.
    expect(commits[0]).toEqual({ rowCount: 6, logRange: { from: first, to: second } });
    expect(commits.reduce((n, c) => n + c.rowCount, 0)).toBe(10);
    for (let i = 1; i < commits.length; i++) {
      const gap = commits[i]!.logRange.from - commits[i - 1]!.logRange.to - 1;
      // Only the dead letter may fall between two ranges (a range of dead letters alone commits nothing).
      if (gap !== 0) expect({ gap, from: commits[i - 1]!.logRange.to + 1 }).toEqual({ gap: 1, from: bad });
      expect(commits[i]!.rowCount).toBeLessThanOrEqual(4 + 1);
    }
  });

  it('validates each materialized commit against the group’s suite: the report is stored and an alert raised, the rows kept', async () => {
    const { gql, name: project } = await projectOf(srv, 'stream');
    await payments(gql, 'payments', false);
    const saved = await gql(
      `mutation($fg: FeatureGroupRef!, $input: SaveExpectationSuiteInput!) { saveExpectationSuite(featureGroup: $fg, input: $input) { __typename } }`,
      {
        fg: { name: 'payments' },
        input: {
          name: 'amounts',
          ingestionPolicy: 'STRICT',
          expectations: [{ type: 'expect_column_values_to_be_between', kwargs: { column: 'amount', min_value: 0, max_value: 100 } }],
        },
      },
    );
    expect(saved.data.saveExpectationSuite.__typename).toBe('SaveExpectationSuitePayload');
    const raise = vi.spyOn(srv.app.services.alerts, 'raise');
    try {
      const res = await accepted(gql, { fg: { name: 'payments' }, rows: [{ id: 1, ts: at(1), amount: 500 }], wait: 'OFFLINE' });
      expect(res.commit?.rowCount).toBe(1);
      const commits = await gql(`{ featureGroup(name: "payments") { commits { validationReport } read { rowCount } } }`);
      expect(commits.data.featureGroup.commits[0].validationReport).toMatchObject({ success: false, suiteName: 'amounts' });
      expect(commits.data.featureGroup.read.rowCount).toBe(1);
      const projectRow = await srv.app.prisma.project.findUniqueOrThrow({ where: { name: project } });
      const raisedNow = () => raise.mock.calls.filter(([projectId]) => projectId === projectRow.id).map(([, event]) => event.type);
      await vi.waitFor(() => expect(raisedNow()).toContain('JOB_SUCCEEDED'), { timeout: 15_000, interval: 50 });
      const raised = raisedNow();
      // One VALIDATION_FAILED for the commit; its statistics job (run with the project's stream key) succeeds.
      expect(raised.filter((t) => t === 'VALIDATION_FAILED')).toHaveLength(1);
      expect(raised).not.toContain('JOB_FAILED');
    } finally {
      raise.mockRestore();
    }
  });

  it('refuses streaming into a group whose features are not known yet', async () => {
    const { gql } = await projectOf(srv, 'stream');
    await createGroup(gql, { name: 'later', primaryKey: ['id'] });
    expect(ofType(await ingest(gql, { fg: { name: 'later' }, rows: [{ id: 1 }] }), 'ValidationError').message).toMatch(/has no features yet/);
  });

  it('announces each applied batch of the watched group on ingestionUpdated, to its project only', async () => {
    const mine = await projectOf(srv, 'stream');
    const other = await projectOf(srv, 'stream');
    await payments(mine.gql, 'payments');
    await payments(mine.gql, 'unwatched');
    await payments(other.gql, 'payments');
    const stream = await subscribeSse((url, init) => srv.server.yoga.fetch(url, init), 'http://localhost/graphql', mine.key, {
      query: `subscription($fg: FeatureGroupRef) { ingestionUpdated(featureGroup: $fg) { featureGroup { name } sequence rows } }`,
      variables: { fg: { name: 'payments' } },
    });
    // Live once the server has registered it: ingest until an update arrives.
    for (let n = 0; stream.results().length === 0; n++) {
      if (n > 50) throw new Error('subscription never became live');
      await accepted(mine.gql, { fg: { name: 'payments' }, rows: [{ id: 100 + n, ts: at(1), amount: 1 }] });
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = stream.results().length;
    await accepted(other.gql, { fg: { name: 'payments' }, rows: [{ id: 1, ts: at(1), amount: 1 }] });
    await accepted(mine.gql, { fg: { name: 'unwatched' }, rows: [{ id: 1, ts: at(1), amount: 1 }] });
    const last = await accepted(mine.gql, {
      fg: { name: 'payments' },
      rows: [
        { id: 1, ts: at(2), amount: 2 },
        { id: 2, ts: at(2), amount: 3 },
      ],
    });
    await stream.waitFor((events) => events.some((e) => e.data?.data?.ingestionUpdated?.sequence === last.sequence));
    const updates = stream
      .results()
      .slice(before)
      .map((r) => r.data?.ingestionUpdated);
    expect(updates).toEqual([{ featureGroup: { name: 'payments' }, sequence: last.sequence, rows: 2 }]);
    stream.close();
  });
});
