import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { routeMatches } from '../../../src/services/alert/alert.service.ts';
import { HostPolicy, isLoopbackAddress, postOnce, RefusedHostError, retryAfterMs, signBody } from '../../../src/services/alert/webhook.ts';

describe('alert configuration', () => {
  it('defaults to loopback only, 8 attempts, 5 s base delay and 5 s timeout', () => {
    expect(loadConfig({}).alerts).toEqual({ allowedHosts: [], maxAttempts: 8, retryBaseMs: 5000, timeoutMs: 5000 });
  });

  it('reads GRANARY_ALERT_ALLOWED_HOSTS as a lower-cased, comma-separated list', () => {
    const config = loadConfig({ GRANARY_ALERT_ALLOWED_HOSTS: ' Hooks.Example.com, 10.1.2.3,[fd00::1],, ', GRANARY_ALERT_MAX_ATTEMPTS: '3' });
    expect(config.alerts).toMatchObject({ allowedHosts: ['hooks.example.com', '10.1.2.3', 'fd00::1'], maxAttempts: 3 });
  });

  it('refuses URLs in place of host names, and a zero timeout', () => {
    expect(() => loadConfig({ GRANARY_ALERT_ALLOWED_HOSTS: 'https://hooks.example.com/x' })).toThrow(ConfigError);
    expect(() => loadConfig({ GRANARY_ALERT_TIMEOUT_MS: '0' })).toThrow(/GRANARY_ALERT_TIMEOUT_MS/);
  });
});

describe('webhook host policy', () => {
  it('allows loopback hosts by default and nothing else', () => {
    const policy = new HostPolicy([]);
    for (const url of ['http://localhost/x', 'http://127.0.0.1:8080/x', 'http://127.9.9.9/x', 'https://[::1]/x', 'http://LOCALHOST/x']) {
      expect(policy.refuseUrl(url), url).toBeUndefined();
    }
    for (const url of ['http://example.com/x', 'http://10.0.0.1/x', 'http://[fd00::1]/x', 'http://0.0.0.0/x', 'http://localhost.example.com/x']) {
      expect(policy.refuseUrl(url), url).toMatch(/not allowed/);
    }
    expect(policy.refuseUrl('file:///etc/passwd')).toMatch(/http/);
    expect(policy.refuseUrl('http://user:pw@localhost/x')).toMatch(/credentials/);
  });

  it('allows listed hosts, wherever they resolve; a loopback name must resolve to loopback', () => {
    const policy = new HostPolicy(['hooks.example.com', '10.1.2.3']);
    expect(policy.refuseUrl('https://hooks.example.com/x')).toBeUndefined();
    expect(policy.refuseUrl('http://10.1.2.3/x')).toBeUndefined();
    expect(policy.refuseUrl('http://other.example.com/x')).toMatch(/not allowed/);
    expect(policy.addressAllowed('hooks.example.com', '203.0.113.7')).toBe(true);
    expect(policy.addressAllowed('localhost', '203.0.113.7')).toBe(false);
    expect(policy.addressAllowed('localhost', '127.0.0.1')).toBe(true);
    expect(policy.addressAllowed('localhost', '::1')).toBe(true);
  });

  it('the connection lookup passes loopback answers through', async () => {
    const lookup = new HostPolicy([]).lookupFor('localhost');
    const address = await new Promise<string>((resolve, reject) =>
      lookup('localhost', { all: false }, (error: unknown, a: unknown) => (error ? reject(error) : resolve(String(a)))),
    );
    expect(isLoopbackAddress(address)).toBe(true);
  });

  it('posts to a host name through the checking lookup, and refuses the connection when an answer is not allowed', async () => {
    const server = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://localhost:${(server.address() as AddressInfo).port}/hook`;
    let requests = 0;
    server.on('request', () => requests++);
    try {
      const ok = await postOnce(url, {}, '{}', { policy: new HostPolicy([]), timeoutMs: 2000 });
      expect(ok.status).toBe(204);
      // As if localhost resolved somewhere else: the socket's lookup refuses before connecting.
      class Strict extends HostPolicy {
        override addressAllowed() {
          return false;
        }
      }
      await expect(postOnce(url, {}, '{}', { policy: new Strict([]), timeoutMs: 2000 })).rejects.toBeInstanceOf(RefusedHostError);
      await expect(postOnce('http://192.0.2.1/hook', {}, '{}', { policy: new HostPolicy([]), timeoutMs: 2000 })).rejects.toBeInstanceOf(RefusedHostError);
      expect(requests).toBe(1);
    } finally {
      server.close();
    }
  });

  it('recognises loopback addresses', () => {
    expect(['127.0.0.1', '127.255.0.1', '::1', '::ffff:127.0.0.1', '[::1]'].every(isLoopbackAddress)).toBe(true);
    expect(['128.0.0.1', '10.0.0.1', '::', 'fe80::1', 'localhost', '0.0.0.0'].some(isLoopbackAddress)).toBe(false);
  });
});

describe('signing and retry hints', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256, hex, prefixed sha256=', () => {
    const expected = createHmac('sha256', 'k'.repeat(16)).update('1700000000.{"a":1}').digest('hex');
    expect(signBody('k'.repeat(16), '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
    expect(signBody('k'.repeat(16), '1700000001', '{"a":1}')).not.toBe(`sha256=${expected}`);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('route matching', () => {
  const event = { type: 'STATISTICS_COMPUTED', subject: { kind: 'FeatureGroup', name: 'customers', version: 2 }, message: 'm' } as const;
  const route = (over: object) => ({ eventTypes: ['STATISTICS_COMPUTED'], subjectKind: null, subjectName: null, subjectVersion: null, ...over });

  it('matches on event type, then on the subject filter when there is one', () => {
    expect(routeMatches(route({}), event)).toBe(true);
    expect(routeMatches(route({ eventTypes: ['JOB_FAILED'] }), event)).toBe(false);
    expect(routeMatches(route({ subjectKind: 'FeatureGroup', subjectName: 'customers' }), event)).toBe(true);
    expect(routeMatches(route({ subjectKind: 'FeatureGroup', subjectName: 'customers', subjectVersion: 2 }), event)).toBe(true);
    expect(routeMatches(route({ subjectKind: 'FeatureGroup', subjectName: 'customers', subjectVersion: 1 }), event)).toBe(false);
    expect(routeMatches(route({ subjectKind: 'Job', subjectName: 'customers' }), event)).toBe(false);
    expect(routeMatches(route({ subjectKind: 'FeatureGroup', subjectName: 'orders' }), event)).toBe(false);
  });
});
