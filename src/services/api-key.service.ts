import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { GranaryPubSub } from '../pubsub.ts';
import type { MetadataClient } from '../stores/metadata/client.ts';
import type { ApiKey } from '../generated/sqlite/client.ts';
import { isRunKeyName } from '../jobs/run-key.ts';
import type { RegistryEventsService } from './registry-events.service.ts';
import { grants, highest, SCOPES, type Scope, type Viewer } from './viewer.ts';
import { parseInput } from './validation.ts';

/** The name of each project's key for streamed commits (see `streamKey`). */
export const STREAM_KEY_NAME = 'system:stream';

/** Secrets look like `gra_<prefix>_<secret>`; the prefix is public and finds the row. */
const SECRET_PATTERN = /^gra_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** How long an authenticated key is trusted without re-reading it (revocation here is immediate). */
const CACHE_MS = 10_000;
/** `lastUsedAt` is written at most this often per key, so reads do not become writes. */
const TOUCH_MS = 60_000;

const createInput = z.object({
  name: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(200)
    .refine((name) => !isRunKeyName(name), 'names like job:<job>#<execution> are reserved for the keys of job runs')
    .refine((name) => name !== STREAM_KEY_NAME, `${STREAM_KEY_NAME} is reserved for the key streamed commits are made with`),
  scopes: z.array(z.enum(SCOPES as [Scope, ...Scope[]])).min(1, 'give at least one scope'),
  project: z.string().trim().min(1).nullish(),
  expiresAt: z.date().nullish(),
});
export type CreateApiKeyInput = z.input<typeof createInput>;

interface CachedKey {
  readonly viewer: Viewer;
  readonly hash: Buffer;
  readonly expiresAt: Date | null;
  readonly cachedUntil: number;
}

/** API keys: minting (secret shown once), revoking, and authenticating bearer secrets. */
export class ApiKeyService {
  private readonly cache = new Map<string, CachedKey>();
  private readonly touchedAt = new Map<string, number>();
  private rootProjectId: string | undefined;

  constructor(
    private readonly prisma: MetadataClient,
    private readonly events: RegistryEventsService,
    private readonly logger: Logger,
    private readonly pubsub: GranaryPubSub,
  ) {}

  /**
   * Mints a key. The caller may give at most its own scopes; naming another `project` needs
   * a server admin (an ADMIN key of the first project). Returns the secret, which is never stored.
   */
  async create(viewer: Viewer, raw: CreateApiKeyInput): Promise<{ secret: string; apiKey: ApiKey }> {
    const input = parseInput(createInput, raw);
    if (input.scopes.some((s) => !grants(viewer.scopes, s))) {
      throw new ForbiddenError(`a ${highest(viewer.scopes)} key cannot mint a key with more scopes than its own`);
    }
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw ValidationError.at(['input', 'expiresAt'], 'must be in the future');
    }
    let projectId = viewer.projectId;
    if (input.project && input.project !== viewer.projectName) {
      if (!viewer.serverAdmin) throw new ForbiddenError('only an ADMIN key of the first project can mint keys for other projects');
      const project = await this.prisma.project.findUnique({ where: { name: input.project } });
      if (!project) throw new NotFoundError('Project', input.project);
      projectId = project.id;
    }
    return this.mint(projectId, input.name, [...new Set(input.scopes)], input.expiresAt ?? null);
  }

  /** Creates a key without a caller (first start of a server). */
  async mint(projectId: string, name: string, scopes: Scope[], expiresAt: Date | null) {
    const prefix = randomToken(12);
    const secret = `gra_${prefix}_${randomBytes(32).toString('base64url')}`;
    const apiKey = await this.events.change(projectId, async (tx) => {
      const value = await tx.apiKey.create({
        data: { projectId, name, prefix, hash: sha256(secret).toString('hex'), scopes, expiresAt },
      });
      return { value, change: { kind: 'ApiKey', objectId: value.id, name, action: 'CREATED' } };
    });
    return { secret, apiKey };
  }

  /**
   * The key a project's streamed rows are committed offline with (and its statistics jobs run
   * with): named `system:stream`, WRITE, made on first use; its secret is never shown to anyone, so
   * nothing authenticates with it. Revoking it stops those jobs until the next one is made.
   */
  async streamKey(projectId: string): Promise<ApiKey> {
    const existing = await this.prisma.apiKey.findFirst({ where: { projectId, name: STREAM_KEY_NAME, revokedAt: null }, orderBy: { createdAt: 'asc' } });
    return existing ?? (await this.mint(projectId, STREAM_KEY_NAME, ['WRITE'], null)).apiKey;
  }

  /** Revokes a key of the caller's project: its own, or any with ADMIN. Idempotent. */
  async revoke(viewer: Viewer, id: string): Promise<ApiKey> {
    const existing = await this.prisma.apiKey.findUnique({ where: { id } });
    if (!existing || existing.projectId !== viewer.projectId) throw new NotFoundError('ApiKey', id);
    if (existing.id !== viewer.apiKeyId && !grants(viewer.scopes, 'ADMIN')) {
      throw new ForbiddenError('revoking another key needs an ADMIN key');
    }
    if (existing.revokedAt) return existing;
    const apiKey = await this.events.change(existing.projectId, async (tx) => {
      const value = await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      return { value, change: { kind: 'ApiKey', objectId: value.id, name: value.name, action: 'UPDATED' } };
    });
    this.forget(apiKey.prefix);
    // After the commit: every process (this one included) ends the key's open subscriptions.
    this.pubsub.publish('apiKeyRevoked', { apiKeyId: apiKey.id, prefix: apiKey.prefix });
    return apiKey;
  }

  /**
   * Revokes every active key of a project with this name (the key of a job run, named
   * `job:<job>#<execution>`, when the run ends). Needs no caller: the runner does it. Idempotent.
   */
  async revokeNamed(projectId: string, name: string): Promise<number> {
    const keys = await this.prisma.apiKey.findMany({ where: { projectId, name, revokedAt: null }, select: { id: true, prefix: true } });
    for (const key of keys) {
      await this.events.change(projectId, async (tx) => {
        const value = await tx.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
        return { value, change: { kind: 'ApiKey', objectId: value.id, name: value.name, action: 'UPDATED' } };
      });
      this.forget(key.prefix);
      this.pubsub.publish('apiKeyRevoked', { apiKeyId: key.id, prefix: key.prefix });
    }
    return keys.length;
  }

  /**
   * Calls `listener` with the id of every key revoked from now on, here or in another process
   * sharing the pub/sub, after dropping it from this process's cache. Returns the function that
   * stops listening.
   */
  onRevoked(listener: (apiKeyId: string) => void): () => void {
    const events = this.pubsub.subscribe('apiKeyRevoked');
    void (async () => {
      for await (const event of events) {
        this.forget(event.prefix);
        listener(event.apiKeyId);
      }
    })().catch((error: unknown) => this.logger.warn({ err: error }, 'lost the feed of revoked API keys; open subscriptions are re-checked by time'));
    return () => void events.return();
  }

  /**
   * Which of `ids` are keys still in force (neither revoked nor expired), read from the database in
   * one query, never from the cache: how open subscriptions find keys revoked where no pub/sub
   * message reached them.
   */
  async inForce(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.prisma.apiKey.findMany({
      where: { id: { in: [...ids] }, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
      select: { id: true },
    });
    return new Set(rows.map((row) => row.id));
  }

  /** Drops a key from this process's cache (called on revocation, here or in another process). */
  forget(prefix: string): void {
    this.cache.delete(prefix);
  }

  /**
   * Resolves an `Authorization` header value to the viewer, or throws UnauthenticatedError.
   * Accepts `Bearer <secret>` (scheme case-insensitive) or the bare secret.
   */
  async authenticate(authorization: string | null | undefined): Promise<Viewer> {
    if (!authorization) throw new UnauthenticatedError('missing API key: send Authorization: Bearer <key>');
    const secret = authorization.replace(/^\s*bearer\s+/i, '').trim();
    const match = SECRET_PATTERN.exec(secret);
    if (!match) throw new UnauthenticatedError('malformed API key');
    const prefix = match[1]!;
    const now = Date.now();
    let entry = this.cache.get(prefix);
    if (!entry || entry.cachedUntil < now) {
      entry = await this.load(prefix);
      if (entry) this.cache.set(prefix, entry);
      else this.cache.delete(prefix);
    }
    const presented = sha256(secret);
    if (!entry || !timingSafeEqual(presented, entry.hash)) throw new UnauthenticatedError('invalid API key');
    if (entry.expiresAt && entry.expiresAt.getTime() <= now) throw new UnauthenticatedError('expired API key');
    this.touch(entry.viewer.apiKeyId, now);
    return entry.viewer;
  }

  private async load(prefix: string): Promise<CachedKey | undefined> {
    const row = await this.prisma.apiKey.findUnique({ where: { prefix }, include: { project: true } });
    if (!row || row.revokedAt) return undefined;
    const scopes = row.scopes as Scope[];
    const rootId = await this.rootProject();
    return {
      viewer: {
        apiKeyId: row.id,
        projectId: row.projectId,
        projectName: row.project.name,
        scopes,
        serverAdmin: row.projectId === rootId && grants(scopes, 'ADMIN'),
        expiresAt: row.expiresAt,
      },
      hash: Buffer.from(row.hash, 'hex'),
      expiresAt: row.expiresAt,
      cachedUntil: Date.now() + CACHE_MS,
    };
  }

  /** The server's first project (uuid v7 ids sort by creation). Its ADMIN keys are server admins. */
  private async rootProject(): Promise<string | undefined> {
    if (!this.rootProjectId) {
      const first = await this.prisma.project.findFirst({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      this.rootProjectId = first?.id;
    }
    return this.rootProjectId;
  }

  private touch(id: string, now: number): void {
    if ((this.touchedAt.get(id) ?? 0) + TOUCH_MS > now) return;
    this.touchedAt.set(id, now);
    this.prisma.apiKey
      .update({ where: { id }, data: { lastUsedAt: new Date(now) } })
      .catch((error: unknown) => this.logger.warn({ err: error, apiKeyId: id }, 'could not record key use'));
  }
}

/** One-shot (no Hash object): every request hashes the key it presents. */
function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}
