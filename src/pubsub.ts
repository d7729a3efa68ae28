import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';

/**
 * A change to a registry object, as the change feed carries it. Small and JSON-safe:
 * it crosses Redis between processes, so `at` is an ISO string, never a Date or a Prisma row.
 */
export interface RegistryEventMessage {
  readonly id: number;
  readonly kind: string;
  readonly objectId: string;
  readonly name: string;
  readonly version: number | null;
  readonly action: 'CREATED' | 'UPDATED' | 'DELETED';
  readonly at: string;
  /**
   * Set on a live event of a commit (an UPDATED feature group whose rows changed and whose
   * definition did not): caches built from definitions (serving plans, deployment runtimes) keep
   * what they hold. Not stored: a replayed event lacks it, and is treated as any change.
   */
  readonly rowsOnly?: boolean;
}

/**
 * A job execution changed state or progressed. Subscribers re-read the execution by id, so the
 * message stays small; `jobName` lets them filter without a read.
 */
export interface ExecutionMessage {
  readonly executionId: string;
  readonly jobName: string;
  readonly state: string;
}

/** Statistics were computed for a feature group (after a commit, or on demand). */
export interface StatisticsMessage {
  readonly statisticsId: string;
  readonly featureGroupId: string;
}

/**
 * An API key was revoked. Every server process ends the key's open subscriptions (graphql-ws
 * sockets, SSE streams) and drops it from its authentication cache on hearing it.
 */
export interface ApiKeyRevokedMessage {
  readonly apiKeyId: string;
  /** The key's public prefix, which its authentication cache is keyed by. */
  readonly prefix: string;
}

/** Streamed rows of a feature group were applied (online for an online-enabled group). */
export interface IngestionMessage {
  readonly featureGroupId: string;
  readonly sequence: number;
  readonly rows: number;
}

/**
 * Every topic. Client-facing ones are routed by project id so a subscriber only ever sees its own
 * project; `apiKeyRevoked` is server-internal (no client subscribes to it) and crosses projects.
 */
export type Topics = {
  registryEvent: [projectId: string, event: RegistryEventMessage];
  executionUpdated: [projectId: string, event: ExecutionMessage];
  statisticsUpdated: [projectId: string, event: StatisticsMessage];
  ingestionUpdated: [projectId: string, event: IngestionMessage];
  apiKeyRevoked: [event: ApiKeyRevokedMessage];
};

export type GranaryPubSub = PubSub<Topics> & { close(): Promise<void> };

/**
 * In-process pub/sub by default; with a `redis://` URL, events go through Redis so every
 * server process sharing it delivers every event to its own subscribers.
 */
export async function createGranaryPubSub(redisUrl?: string, onError: (error: Error) => void = () => {}): Promise<GranaryPubSub> {
  if (!redisUrl) return Object.assign(createPubSub<Topics>(), { close: async () => {} });
  const publishClient = new Redis(redisUrl, { maxRetriesPerRequest: 3, lazyConnect: true });
  // No ready check on the subscriber: ioredis would send INFO after a SUBSCRIBE issued while
  // connecting, which Redis refuses in subscriber mode, and the subscription would be lost.
  const subscribeClient = new Redis(redisUrl, { enableReadyCheck: false, lazyConnect: true });
  for (const client of [publishClient, subscribeClient]) {
    client.on('error', (error: Error) => onError(error));
  }
  // Connect before serving: a wrong PUBSUB_URL fails the start, not the first subscription.
  await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  const pubsub = createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publishClient, subscribeClient }),
  });
  return Object.assign(pubsub, {
    close: async () => {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  });
}
