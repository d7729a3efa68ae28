import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GranaryClient, GranaryDataValidationError } from 'granary/client';
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

describe('GranaryClient and expectation suites', () => {
  it('throws a GranaryDataValidationError with the report when a STRICT suite rejects an insert', async () => {
    const { key } = await srv.newProject('expclient');
    const client = new GranaryClient({ url: base, apiKey: key });
    await client.ensureFeatureGroup({
      name: 'accounts',
      primaryKey: ['id'],
      features: [
        { name: 'id', type: 'STRING' },
        { name: 'months', type: 'INT' },
      ],
    });
    const saved = await srv.gql(
      `mutation { saveExpectationSuite(featureGroup: { name: "accounts" }, input: {
        name: "accounts_suite", ingestionPolicy: STRICT,
        expectations: [{ type: "expect_column_values_to_be_between", kwargs: { column: "months", min_value: 0 } }]
      }) { __typename } }`,
      {},
      key,
    );
    expect(saved.data.saveExpectationSuite.__typename).toBe('SaveExpectationSuitePayload');

    const ok = await client.insert('accounts', [{ id: 'a', months: 3 }]);
    expect(ok.validationReport).toMatchObject({ success: true });
    let error: unknown;
    try {
      await client.insert('accounts', [{ id: 'b', months: -1 }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GranaryDataValidationError);
    expect((error as GranaryDataValidationError).__typename).toBe('DataValidationError');
    expect((error as GranaryDataValidationError).report).toMatchObject({
      success: false,
      results: [{ expectationType: 'expect_column_values_to_be_between', unexpectedCount: 1, partialUnexpectedList: [-1] }],
    });
  });
});
