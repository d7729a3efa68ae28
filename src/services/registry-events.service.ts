import type { MetadataClient } from '../stores/metadata/client.ts';
import { filter, pipe } from 'graphql-yoga';
import type { GranaryPubSub, RegistryEventMessage } from '../pubsub.ts';

/** What changed: the object's kind (`FeatureGroup`, `ApiKey`, …), identity and the action. */
export interface RegistryChange {
  readonly kind: string;
  readonly objectId: string;
  readonly name: string;
  readonly version?: number | null;
  readonly action: RegistryEventMessage['action'];
  /** A commit: the object's rows changed, its definition did not (see RegistryEventMessage.rowsOnly). */
  readonly rowsOnly?: boolean;
}

/** A Prisma client or the transaction client handed to `$transaction` callbacks. */
type Tx = Pick<MetadataClient, 'registryEvent'>;

/** The client a `$transaction` callback receives. */
export type TxClient = Parameters<Parameters<MetadataClient['$transaction']>[0]>[0];

/**
 * The change feed. Each change is stored in the same transaction as the change itself
 * (`record`), then published once that transaction has committed (`publish`), so the stored
 * log never misses an event a subscriber saw, and a rolled-back change is never announced.
 */
export class RegistryEventsService {
  constructor(
    private readonly prisma: MetadataClient,
    private readonly pubsub: GranaryPubSub,
  ) {}

  /** Stores the event inside the caller's transaction; hand the result to `publish` after commit. */
  async record(tx: Tx, projectId: string, change: RegistryChange): Promise<PendingEvent> {
    const row = await tx.registryEvent.create({
      data: {
        projectId,
        kind: change.kind,
        objectId: change.objectId,
        name: change.name,
        version: change.version ?? null,
        action: change.action,
      },
    });
    const message = toMessage(row);
    return { projectId, message: change.rowsOnly ? { ...message, rowsOnly: true } : message };
  }

  /**
   * Runs `work` in one metadata transaction, stores the change it reports in the same
   * transaction, and publishes it once committed. The usual way a service changes the registry.
   */
  async change<T>(projectId: string, work: (tx: TxClient) => Promise<{ value: T; change: RegistryChange }>): Promise<T> {
    const { value, event } = await this.prisma.$transaction(async (tx) => {
      const { value, change } = await work(tx);
      return { value, event: await this.record(tx, projectId, change) };
    });
    this.publish(event);
    return value;
  }

  publish(...events: PendingEvent[]): void {
    for (const { projectId, message } of events) this.pubsub.publish('registryEvent', projectId, message);
  }

  /** Replays the stored feed of a project after `since`, oldest first. */
  async changesSince(projectId: string, since: Date, first: number): Promise<RegistryEventMessage[]> {
    const rows = await this.prisma.registryEvent.findMany({
      where: { projectId, at: { gt: since } },
      orderBy: { id: 'asc' },
      take: first,
    });
    return rows.map(toMessage);
  }

  /**
   * Live events of one project, optionally only some kinds. A Repeater pipeline, not an async
   * generator: when the client goes away, `return()` ends it at once and the topic is released,
   * instead of waiting for the project's next event.
   */
  subscribe(projectId: string, kinds?: readonly string[] | null): AsyncIterable<RegistryEventMessage> {
    const events = this.pubsub.subscribe('registryEvent', projectId);
    if (!kinds || kinds.length === 0) return events;
    return pipe(
      events,
      filter((event) => kinds.includes(event.kind)),
    );
  }
}

export interface PendingEvent {
  readonly projectId: string;
  readonly message: RegistryEventMessage;
}

function toMessage(row: { id: number; kind: string; objectId: string; name: string; version: number | null; action: string; at: Date }): RegistryEventMessage {
  return {
    id: row.id,
    kind: row.kind,
    objectId: row.objectId,
    name: row.name,
    version: row.version,
    action: row.action as RegistryEventMessage['action'],
    at: row.at.toISOString(),
  };
}
