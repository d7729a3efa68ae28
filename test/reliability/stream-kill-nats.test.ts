import { describe, it } from 'vitest';
import { streamKillSuite } from './stream-kill-suite.ts';

// The streaming kill -9 suite (see stream-kill-suite.ts) on NATS JetStream, when TEST_NATS_URL is set.
const natsUrl = process.env.TEST_NATS_URL;
if (natsUrl) streamKillSuite({ name: 'NATS JetStream', env: { STREAM_URL: natsUrl }, natsUrl });
else describe.skip('a streaming server killed with SIGKILL, on NATS JetStream (set TEST_NATS_URL)', () => it('runs with TEST_NATS_URL'));
