/** What an API key may do. Scopes nest: ADMIN includes WRITE, WRITE includes READ. */
export type Scope = 'READ' | 'WRITE' | 'ADMIN';

export const SCOPES: readonly Scope[] = ['READ', 'WRITE', 'ADMIN'];

const RANK: Record<Scope, number> = { READ: 1, WRITE: 2, ADMIN: 3 };

/** The authenticated caller: one API key of one project. */
export interface Viewer {
  readonly apiKeyId: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly scopes: readonly Scope[];
  /** An ADMIN key of the server's first project: may create projects and mint keys for any project. */
  readonly serverAdmin: boolean;
  /** When the key stops working (open subscriptions end then); null or absent: never. */
  readonly expiresAt?: Date | null;
}

/** Whether `scopes` grant `needed` (nested: ADMIN ⊇ WRITE ⊇ READ). */
export function grants(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.some((s) => RANK[s] >= RANK[needed]);
}

/** The highest scope in a set. */
export function highest(scopes: readonly Scope[]): Scope {
  return scopes.reduce<Scope>((best, s) => (RANK[s] > RANK[best] ? s : best), 'READ');
}
