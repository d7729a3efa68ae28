import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';

import { NatsStreamLog, openStreamLog } from '../../../src/stores/log/index.ts';
import { streamLogContract } from './stream-log.contract.ts';

const url = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** Without TEST_NATS_URL a missing server skips these tests; with it (CI), they must run. */
async function reachable(): Promise<boolean> {
  if (process.env.TEST_NATS_URL) return true;
  try {
    const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

const available = await reachable();

if (available) {
  // The contract suite removes the streams it created; closing every instance ends with a drain.
  streamLogContract('nats', () => NatsStreamLog.connect(url));

  describe('openStreamLog', () => {
    const opened: NatsStreamLog[] = [];
    afterAll(async () => {
      for (const log of opened) await log.close();
    });

    it('connects to NATS JetStream for a nats:// URL', async () => {
      const log = await openStreamLog({ dataDir: '/nonexistent', url });
      expect(log).toBeInstanceOf(NatsStreamLog);
      opened.push(log as NatsStreamLog);
      expect(await log.last(`granary_missing_${Date.now().toString(36)}`)).toBe(0);
    });
  });
} else {
  describe.skip('NatsStreamLog (no NATS server)', () => {
    it('needs TEST_NATS_URL or a server on 127.0.0.1:4222', () => {});
  });
}
