/** The API's scopes, lowest first (READ ⊂ WRITE ⊂ ADMIN). */
export const SCOPES = ['READ', 'WRITE', 'ADMIN'] as const;
export type Scope = (typeof SCOPES)[number];

/** A key's scopes as badges, lowest first. */
export function ScopeBadges({ scopes }: { scopes: readonly Scope[] }) {
  return (
    <>
      {SCOPES.filter((s) => scopes.includes(s)).map((s) => (
        <span key={s} className={`badge scope-${s.toLowerCase()}`}>
          {s}
        </span>
      ))}
    </>
  );
}
