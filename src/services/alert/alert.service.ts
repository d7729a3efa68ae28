import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { AlertDelivery, AlertReceiver, AlertRoute } from '../../generated/sqlite/client.ts';
import type { Logger } from '../../logger.ts';
import type { SecretBox } from '../../secret-box.ts';
import type { MetadataClient } from '../../stores/metadata/client.ts';
import type { RegistryEventsService } from '../registry-events.service.ts';
import { parseInput } from '../validation.ts';
import type { Viewer } from '../viewer.ts';
import { jsonInput } from '../json-columns.ts';
import type { AlertDeliveryWorker, AlertPayload } from './alert-delivery.ts';
import { ALERT_EVENT_TYPES, ALERT_SUBJECT_KINDS, type AlertEvent, type AlertSink } from './alert-event.ts';

/** The event type of deliveries sent by `testReceiver`. */
export const TEST_EVENT_TYPE = 'TEST';

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

const createReceiverInput = z.object({
  name: z.string().regex(NAME, 'letters, digits, _, . and -, starting with a letter, at most 63 characters'),
  webhookUrl: z.string().trim().min(1, 'must not be empty').max(2000),
  secret: z.string().min(16, 'must be at least 16 characters').max(1000),
  description: z.string().max(10_000).nullish(),
});
export type CreateAlertReceiverInput = z.input<typeof createReceiverInput>;

const createRouteInput = z.object({
  receiver: z.string().min(1, 'must not be empty'),
  eventTypes: z.array(z.enum(ALERT_EVENT_TYPES as [AlertEvent['type'], ...AlertEvent['type'][]])).min(1, 'give at least one event type'),
  subject: z
    .object({
      kind: z.enum(ALERT_SUBJECT_KINDS as [AlertEvent['subject']['kind'], ...AlertEvent['subject']['kind'][]]),
      name: z.string().trim().min(1, 'must not be empty').max(200),
      version: z.number().int().positive().nullish(),
    })
    .nullish(),
  enabled: z.boolean().nullish(),
});
export type CreateAlertRouteInput = z.input<typeof createRouteInput>;

/**
 * Alert receivers (webhooks), routes (which events go where) and deliveries.
 *
 * `raise` records one PENDING delivery per receiver whose routes match the event, then wakes the
 * delivery worker (`AlertDeliveryWorker`: signed POSTs, retries, claims shared by processes),
 * which sends it. `start` and `stop` start and stop that worker with the service.
 */
export class AlertService implements AlertSink {
  /** Recording in progress (awaited by `stop`, so an accepted event is stored before the database closes). */
  private readonly recording = new Set<Promise<void>>();
  private readonly projectNames = new Map<string, string>();
  private stopped = false;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly secrets: SecretBox,
    private readonly logger: Logger,
    private readonly delivery: AlertDeliveryWorker,
  ) {}

  // ---------------------------------------------------------------- raising

  /** Records the event's deliveries and wakes the worker. Never throws, never waits. */
  raise(projectId: string, event: AlertEvent): void {
    if (this.stopped) {
      this.logger.warn({ projectId, type: event?.type }, 'alert raised after the alert service stopped; dropped');
      return;
    }
    const at = new Date();
    const recorded = this.record(projectId, event, at)
      .then((count) => {
        if (count > 0) this.start();
      })
      .catch((error: unknown) => this.logger.error({ err: error, projectId, type: event?.type }, 'could not record alert deliveries'))
      .finally(() => this.recording.delete(recorded));
    this.recording.add(recorded);
  }

  /**
   * Stores one PENDING delivery per receiver whose enabled routes match (one per receiver even when
   * several of its routes match). Resolves to the number recorded.
   */
  async record(projectId: string, event: AlertEvent, at = new Date()): Promise<number> {
    if (!ALERT_EVENT_TYPES.includes(event.type)) throw new Error(`unknown alert event type ${String(event.type)}`);
    const routes = await this.prisma.alertRoute.findMany({ where: { projectId, enabled: true }, orderBy: { id: 'asc' } });
    const byReceiver = new Map<string, AlertRoute>();
    for (const route of routes) {
      if (!byReceiver.has(route.receiverId) && routeMatches(route, event)) byReceiver.set(route.receiverId, route);
    }
    if (byReceiver.size === 0) return 0;
    const projectName = await this.projectName(projectId);
    const payload: AlertPayload = {
      id: randomUUID(),
      type: event.type,
      project: projectName,
      subject: { kind: event.subject.kind, name: event.subject.name, version: event.subject.version ?? null },
      message: event.message,
      details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
      at: at.toISOString(),
    };
    const rows = [...byReceiver.values()].map((route) => ({
      projectId,
      receiverId: route.receiverId,
      routeId: route.id,
      eventType: event.type,
      payload: jsonInput(payload),
      state: 'PENDING',
      nextAttemptAt: at,
    }));
    // A receiver deleted since the routes were read cascades its routes away: create one by one
    // and skip those, so the others still get the event.
    let count = 0;
    for (const data of rows) {
      try {
        await this.prisma.alertDelivery.create({ data });
        count++;
      } catch (error) {
        if ((error as { code?: string }).code !== 'P2003') throw error;
      }
    }
    return count;
  }

  /** Project names never change; cached per process. */
  private async projectName(projectId: string): Promise<string> {
    let name = this.projectNames.get(projectId);
    if (name === undefined) {
      name = (await this.prisma.project.findUniqueOrThrow({ where: { id: projectId }, select: { name: true } })).name;
      this.projectNames.set(projectId, name);
    }
    return name;
  }

  // ---------------------------------------------------------------- receivers and routes

  /** Creates a receiver; its webhook host must be allowed, and its secret is stored sealed. */
  async createReceiver(viewer: Viewer, raw: CreateAlertReceiverInput): Promise<AlertReceiver> {
    const input = parseInput(createReceiverInput, raw);
    const refused = this.delivery.policy.refuseUrl(input.webhookUrl);
    if (refused) throw ValidationError.at(['input', 'webhookUrl'], refused);
    const existing = await this.prisma.alertReceiver.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name: input.name } } });
    if (existing) throw new ConflictError(`alert receiver ${input.name} exists; delete it first to change it`);
    try {
      return await this.events.change(viewer.projectId, async (tx) => {
        const value = await tx.alertReceiver.create({
          data: {
            projectId: viewer.projectId,
            name: input.name,
            description: input.description ?? '',
            webhookUrl: input.webhookUrl,
            sealedSecret: this.secrets.seal(input.secret),
          },
        });
        return { value, change: { kind: 'AlertReceiver', objectId: value.id, name: value.name, action: 'CREATED' } };
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') throw new ConflictError(`alert receiver ${input.name} exists`);
      throw error;
    }
  }

  /** Deletes a receiver with its routes and deliveries (pending ones are never sent). */
  async deleteReceiver(viewer: Viewer, name: string): Promise<AlertReceiver> {
    const receiver = await this.findReceiver(viewer, name);
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertReceiver.delete({ where: { id: receiver.id } });
      return { value, change: { kind: 'AlertReceiver', objectId: value.id, name: value.name, action: 'DELETED' } };
    });
  }

  /** Creates a route from event types (and optionally one subject) to a receiver. */
  async createRoute(viewer: Viewer, raw: CreateAlertRouteInput): Promise<AlertRoute> {
    const input = parseInput(createRouteInput, raw);
    const receiver = await this.prisma.alertReceiver.findUnique({
      where: { projectId_name: { projectId: viewer.projectId, name: input.receiver } },
    });
    if (!receiver) throw new NotFoundError('AlertReceiver', input.receiver);
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertRoute.create({
        data: {
          projectId: viewer.projectId,
          receiverId: receiver.id,
          eventTypes: [...new Set(input.eventTypes)],
          subjectKind: input.subject?.kind ?? null,
          subjectName: input.subject?.name ?? null,
          subjectVersion: input.subject?.version ?? null,
          enabled: input.enabled ?? true,
        },
      });
      return { value, change: { kind: 'AlertRoute', objectId: value.id, name: receiver.name, action: 'CREATED' } };
    });
  }

  /** Enables or disables a route of the caller's project. */
  async setRouteEnabled(viewer: Viewer, id: string, enabled: boolean): Promise<AlertRoute> {
    const route = await this.findRoute(viewer, id);
    if (route.enabled === enabled) return route;
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertRoute.update({ where: { id }, data: { enabled } });
      return { value, change: { kind: 'AlertRoute', objectId: value.id, name: route.receiver.name, action: 'UPDATED' } };
    });
  }

  private async findRoute(viewer: Viewer, id: string) {
    const route = await this.prisma.alertRoute.findUnique({ where: { id }, include: { receiver: { select: { name: true } } } });
    if (!route || route.projectId !== viewer.projectId) throw new NotFoundError('AlertRoute', id);
    return route;
  }

  /** Deletes a route of the caller's project; its past deliveries stay, without the route. */
  async deleteRoute(viewer: Viewer, id: string): Promise<AlertRoute> {
    const route = await this.findRoute(viewer, id);
    return this.events.change(viewer.projectId, async (tx) => {
      const value = await tx.alertRoute.delete({ where: { id } });
      return { value, change: { kind: 'AlertRoute', objectId: value.id, name: route.receiver.name, action: 'DELETED' } };
    });
  }

  /**
   * Sends a signed TEST event to a receiver now, once (no retries), records it as a delivery and
   * returns that delivery: DELIVERED on a 2xx, else FAILED with the status or error.
   */
  async testReceiver(viewer: Viewer, name: string): Promise<AlertDelivery> {
    const receiver = await this.findReceiver(viewer, name);
    const at = new Date();
    const payload: AlertPayload = {
      id: randomUUID(),
      type: TEST_EVENT_TYPE,
      project: viewer.projectName,
      subject: null,
      message: `Test event for alert receiver ${receiver.name}`,
      details: {},
      at: at.toISOString(),
    };
    return this.delivery.sendNow(viewer.projectId, receiver, payload);
  }

  private async findReceiver(viewer: Viewer, name: string): Promise<AlertReceiver> {
    const receiver = await this.prisma.alertReceiver.findUnique({ where: { projectId_name: { projectId: viewer.projectId, name } } });
    if (!receiver) throw new NotFoundError('AlertReceiver', name);
    return receiver;
  }

  // ---------------------------------------------------------------- the worker

  /** Starts the delivery worker (idempotent): pending deliveries, including a predecessor's, are sent. */
  start(): void {
    if (this.stopped) return;
    this.delivery.start();
  }

  /**
   * Stops the worker: events being recorded are stored first, attempts in flight are aborted and
   * put back as due now (not counted), so the next start sends them again.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await Promise.allSettled([...this.recording]);
    this.stopped = true;
    await this.delivery.stop();
  }
}

/** The route's event types include the event's, and its subject filter (if any) matches. */
export function routeMatches(route: Pick<AlertRoute, 'eventTypes' | 'subjectKind' | 'subjectName' | 'subjectVersion'>, event: AlertEvent): boolean {
  const types = Array.isArray(route.eventTypes) ? (route.eventTypes as string[]) : [];
  if (!types.includes(event.type)) return false;
  if (route.subjectKind === null) return true;
  if (route.subjectKind !== event.subject.kind || route.subjectName !== event.subject.name) return false;
  return route.subjectVersion === null || route.subjectVersion === (event.subject.version ?? null);
}
