import type { Logger } from '../logger.ts';
import type { Viewer } from '../services/viewer.ts';

/** Why a session ended: its key was revoked, or it expired. */
export type SessionEnd = 'API key revoked' | 'API key expired';

export interface KeySessionsOptions {
  /** Which of these key ids are still in force (not revoked, not expired), read from the database. */
  inForce(ids: readonly string[]): Promise<Set<string>>;
  /**
   * How often every open session's key is read again: the bound on ending a session whose key was
   * revoked where no revocation message reached this process. The same 10 s as a key cached for HTTP.
   */
  readonly recheckMs: number;
  readonly logger: Logger;
}

interface Session {
  readonly end: (reason: SessionEnd) => void;
  timer?: NodeJS.Timeout;
}

/** Timers fire at most this far ahead (Node's limit); a later expiry is caught by the re-check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The long-lived connections (graphql-ws sockets, SSE streams) opened with each API key, so they
 * end when the key stops working, as HTTP requests would start failing:
 * - at once when the key is revoked and the revocation message reaches this process ({@link revoked});
 * - at its expiry time, by a timer per session;
 * - otherwise within `recheckMs`, by reading every open session's key again in one query.
 */
export class KeySessions {
  private readonly byKey = new Map<string, Set<Session>>();
  private readonly interval: NodeJS.Timeout;
  private checking = false;

  constructor(private readonly options: KeySessionsOptions) {
    this.interval = setInterval(() => void this.recheck(), options.recheckMs);
    this.interval.unref();
  }

  /**
   * Tracks a connection opened with `viewer`'s key: `end` is called at most once, when the key is
   * revoked or expires. Returns the function to call when the connection ends on its own.
   */
  open(viewer: Viewer, end: (reason: SessionEnd) => void): () => void {
    let ended = false;
    const session: Session = {
      end: (reason) => {
        if (ended) return;
        release();
        end(reason);
      },
    };
    const release = () => {
      if (ended) return;
      ended = true;
      if (session.timer) clearTimeout(session.timer);
      const sessions = this.byKey.get(viewer.apiKeyId);
      sessions?.delete(session);
      if (sessions?.size === 0) this.byKey.delete(viewer.apiKeyId);
    };
    let sessions = this.byKey.get(viewer.apiKeyId);
    if (!sessions) {
      sessions = new Set();
      this.byKey.set(viewer.apiKeyId, sessions);
    }
    sessions.add(session);
    if (viewer.expiresAt) {
      const delay = viewer.expiresAt.getTime() - Date.now();
      if (delay <= 0) {
        session.end('API key expired');
      } else if (delay <= MAX_TIMER_MS) {
        session.timer = setTimeout(() => session.end('API key expired'), delay);
        session.timer.unref();
      }
    }
    return release;
  }

  /** Ends every open session of a revoked key. */
  revoked(apiKeyId: string): void {
    for (const session of [...(this.byKey.get(apiKeyId) ?? [])]) session.end('API key revoked');
  }

  /** Open sessions, for tests and metrics. */
  get size(): number {
    let n = 0;
    for (const sessions of this.byKey.values()) n += sessions.size;
    return n;
  }

  /** Reads the keys of all open sessions again and ends those of keys no longer in force. */
  async recheck(): Promise<void> {
    if (this.checking || this.byKey.size === 0) return;
    this.checking = true;
    try {
      const ids = [...this.byKey.keys()];
      const inForce = await this.options.inForce(ids);
      for (const id of ids) if (!inForce.has(id)) this.revoked(id);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not re-check the API keys of open subscriptions');
    } finally {
      this.checking = false;
    }
  }

  /** Stops the re-check and the expiry timers (the server is closing its connections anyway). */
  close(): void {
    clearInterval(this.interval);
    for (const sessions of this.byKey.values()) for (const session of sessions) if (session.timer) clearTimeout(session.timer);
    this.byKey.clear();
  }
}
