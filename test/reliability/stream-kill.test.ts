import { streamKillSuite } from './stream-kill-suite.ts';

// The streaming kill -9 suite (see stream-kill-suite.ts) on the embedded log.
streamKillSuite({ name: 'the embedded log', env: {}, natsUrl: undefined });
