/** A model version's aliases as badges ("none" in grey when it has none). */
export function AliasBadges({ aliases }: { aliases: readonly string[] }) {
  if (aliases.length === 0) return <span className="muted">—</span>;
  return (
    <>
      {aliases.map((a) => (
        <span key={a} className="badge alias">
          {a}
        </span>
      ))}
    </>
  );
}

/** The mark of the best value of a metric: a star to see, the word "best" to hear. */
export function BestMark() {
  return (
    <span className="best-mark">
      {' '}
      <span aria-hidden="true">★</span>
      <span className="visually-hidden"> best</span>
    </span>
  );
}
