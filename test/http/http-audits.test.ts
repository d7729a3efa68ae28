import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The GraphQL over HTTP spec's server audits, against the running server on a real port.
// Every request carries a valid key: without one, the server refuses before reading the document.
let srv: TestServer;
let url: string;
beforeAll(async () => {
  srv = await startTestServer();
  url = `${await srv.listen()}/graphql`;
});
afterAll(async () => {
  await srv?.close();
});

const authedFetch = (input: RequestInfo | URL, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${srv.adminKey}`);
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP audits', () => {
  for (const audit of serverAudits({ url: () => url, fetchFn: authedFetch })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      expect(result.status, 'reason' in result ? result.reason : '').toBe('ok');
    });
  }
});
