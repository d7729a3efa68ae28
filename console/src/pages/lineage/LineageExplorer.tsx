import { useCallback, useEffect, useId, useState } from 'react';
import { useQuery } from 'urql';
import { Link, useLocation, useSearch } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { LineageGraph } from '../../components/lineage/LineageGraph.tsx';
import { hasVersions, isRootKind, KIND_LABEL, type LineageLink, type LineageObject, objectLabel, pageOf, ROOT_KINDS } from '../../components/lineage/model.ts';
import { formatTime } from '../../format.ts';
import { DEFAULT_DEPTH, DIRECTIONS, type Direction, isDepth, type LineageRequest, lineageHref, MAX_DEPTH, MIN_DEPTH, parseRequest } from './url.ts';
import '../group/group.css';
import './lineage.css';

const LINEAGE = graphql(`
  query ConsoleLineage($kind: LineageKind!, $name: String!, $version: Int, $direction: LineageDirection!, $depth: Int!) {
    lineage(kind: $kind, name: $name, version: $version, direction: $direction, depth: $depth) {
      root { id kind name version deleted deletedAt }
      nodes { id kind name version deleted deletedAt }
      edges { from to }
    }
  }
`);

const DIRECTION_LABEL: Record<Direction, string> = {
  UPSTREAM: 'Upstream (what it was made from)',
  BOTH: 'Both',
  DOWNSTREAM: 'Downstream (what was made from it)',
};

/**
 * The lineage page's body: without an object in the query string, a form to pick one; with one,
 * its lineage drawn as a graph, the direction and depth to follow, and the same graph as text.
 * Everything it shows is in the URL (see url.ts), so a reload or a shared link shows the same.
 */
export function LineageExplorer() {
  const parsed = parseRequest(useSearch());
  const { request } = parsed;
  return (
    <>
      {parsed.problems.length > 0 && <ErrorNote title="This address asks for a lineage the console cannot show" message={parsed.problems.join('; ')} />}
      <StartForm key={`${parsed.kind}\n${parsed.name}\n${parsed.version}`} kind={parsed.kind} name={parsed.name} version={parsed.version} request={request} />
      {request && <Lineage request={request} />}
    </>
  );
}

/** Picks the object to start from: a kind, a name and optionally a version (the latest without). */
function StartForm({ kind, name, version, request }: { kind: string; name: string; version: string; request: LineageRequest | null }) {
  const [, navigate] = useLocation();
  const [draftKind, setDraftKind] = useState(isRootKind(kind) ? kind : 'MODEL');
  const [draftName, setDraftName] = useState(name);
  const [draftVersion, setDraftVersion] = useState(/^[1-9]\d*$/.test(version) ? version : '');
  const ids = { kind: useId(), name: useId(), version: useId() };
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const trimmed = draftName.trim();
    if (trimmed === '' || !isRootKind(draftKind)) return;
    navigate(
      lineageHref({
        kind: draftKind,
        name: trimmed,
        version: draftVersion === '' ? null : Number(draftVersion),
        direction: request?.direction,
        depth: request?.depth,
      }),
    );
  };
  return (
    <form className="lineage-start toolbar" onSubmit={submit} aria-label="Object to start from">
      <label htmlFor={ids.kind}>Kind</label>
      <select id={ids.kind} value={draftKind} onChange={(e) => setDraftKind(e.target.value as typeof draftKind)}>
        {ROOT_KINDS.map((k) => (
          <option key={k} value={k}>
            {KIND_LABEL[k]}
          </option>
        ))}
      </select>
      <label htmlFor={ids.name}>Name</label>
      <input id={ids.name} value={draftName} onChange={(e) => setDraftName(e.target.value)} required placeholder="churnmodel" />
      <label htmlFor={ids.version}>Version</label>
      <input
        id={ids.version}
        type="number"
        min={1}
        step={1}
        value={draftVersion}
        onChange={(e) => setDraftVersion(e.target.value)}
        placeholder="latest"
        className="lineage-version"
      />
      <button type="submit">Show lineage</button>
    </form>
  );
}

/** The lineage of one object: direction and depth controls, the graph, and the graph as text. */
function Lineage({ request }: { request: LineageRequest }) {
  const variables = { kind: request.kind, name: request.name, version: request.version, direction: request.direction, depth: request.depth };
  const [{ data, error, fetching, operation }] = useQuery({ query: LINEAGE, variables });
  // While another object's (or direction's, or depth's) lineage loads, the previous one stays in `data`.
  const current = operation !== undefined && JSON.stringify(operation.variables) === JSON.stringify(variables);
  const titled = `${KIND_LABEL[request.kind]} ${request.name}${request.version === null ? '' : ` version ${request.version}`}`;
  let body: React.ReactNode;
  if (error && current) body = <ErrorNote message={errorMessage(error)} />;
  else if (!data || !current) body = <Loading what={`the lineage of ${titled}`} />;
  else body = <Drawn root={data.lineage.root} nodes={data.lineage.nodes} links={data.lineage.edges} request={request} />;
  return (
    <div aria-busy={fetching}>
      <Controls request={request} />
      {body}
    </div>
  );
}

/** Direction and depth: each change goes into the URL, which asks the API again. */
function Controls({ request }: { request: LineageRequest }) {
  const [, navigate] = useLocation();
  const [depth, setDepth] = useState(String(request.depth));
  const depthId = useId();
  const hintId = useId();
  // The URL changed from elsewhere (back, a link): show its depth.
  useEffect(() => {
    setDepth((typed) => (Number(typed) === request.depth ? typed : String(request.depth)));
  }, [request.depth]);
  const typedValid = /^\d+$/.test(depth) && isDepth(Number(depth));
  return (
    <div className="lineage-controls toolbar">
      <fieldset className="lineage-direction">
        <legend>Direction</legend>
        {DIRECTIONS.map((d) => (
          <label key={d}>
            <input
              type="radio"
              name="direction"
              value={d}
              checked={request.direction === d}
              onChange={() => navigate(lineageHref({ ...request, direction: d }))}
            />{' '}
            {DIRECTION_LABEL[d]}
          </label>
        ))}
      </fieldset>
      <label htmlFor={depthId}>Depth</label>
      <input
        id={depthId}
        type="number"
        min={MIN_DEPTH}
        max={MAX_DEPTH}
        step={1}
        value={depth}
        aria-describedby={hintId}
        aria-invalid={!typedValid}
        className="lineage-depth"
        onChange={(e) => {
          const typed = e.target.value;
          setDepth(typed);
          // Each keystroke replaces the URL rather than piling up history entries.
          if (/^\d+$/.test(typed) && isDepth(Number(typed))) navigate(lineageHref({ ...request, depth: Number(typed) }), { replace: true });
        }}
      />
      <span id={hintId} className={typedValid ? 'muted' : 'lineage-invalid'}>
        links to follow, {MIN_DEPTH} to {MAX_DEPTH} ({DEFAULT_DEPTH} by default)
      </span>
    </div>
  );
}

/** The graph and its text alternative: a table of the objects and a list of the links. */
function Drawn({
  root,
  nodes,
  links,
  request,
}: {
  root: LineageObject;
  nodes: readonly LineageObject[];
  links: readonly LineageLink[];
  request: LineageRequest;
}) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const rootLabel = `${KIND_LABEL[root.kind]} ${objectLabel(root)}`;
  const linksId = useId();
  const ordered = [...nodes].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name) || a.version - b.version);
  // Another object's lineage, with the same direction and depth: not from jobs and data sources (the API starts from catalog objects only).
  const { direction, depth } = request;
  const lineageFrom = useCallback(
    (n: LineageObject) => (isRootKind(n.kind) ? lineageHref({ kind: n.kind, name: n.name, version: n.version, direction, depth }) : null),
    [direction, depth],
  );
  const describe = (id: string) => {
    const n = byId.get(id);
    return n ? `${objectLabel(n)} (${KIND_LABEL[n.kind]})` : id;
  };
  return (
    <>
      <h2>
        Lineage of {rootLabel}
        {root.deleted && <span className="muted"> (deleted {formatTime(root.deletedAt)})</span>}
      </h2>
      <p className="muted">
        {nodes.length} {nodes.length === 1 ? 'object' : 'objects'}, {links.length} {links.length === 1 ? 'link' : 'links'}; upstream on the left. Open an
        object's page from its box, or with Tab and Enter.
      </p>
      <LineageGraph nodes={nodes} links={links} rootId={root.id} label={`Lineage graph of ${rootLabel}`} lineageHrefOf={lineageFrom} />
      <h2>Objects</h2>
      <table className="list lineage-objects">
        <caption className="visually-hidden">Objects in the lineage of {rootLabel}</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">State</th>
            <th scope="col">Lineage</th>
          </tr>
        </thead>
        <tbody>
          {ordered.map((n) => {
            const href = pageOf(n);
            return (
              <tr key={n.id} className={n.deleted ? 'deleted' : undefined}>
                <td>{KIND_LABEL[n.kind]}</td>
                <th scope="row">
                  {href ? <Link href={href}>{n.name}</Link> : n.name}
                  {n.id === root.id && (
                    <>
                      {' '}
                      <span className="badge root-badge">root</span>
                    </>
                  )}
                </th>
                <td>{hasVersions(n.kind) ? n.version : <span className="muted">—</span>}</td>
                <td>{n.deleted ? `deleted ${formatTime(n.deletedAt)}` : 'current'}</td>
                <td>
                  {n.id !== root.id && lineageFrom(n) !== null && (
                    <Link href={lineageFrom(n) ?? ''}>
                      Show lineage from here<span className="visually-hidden"> ({objectLabel(n)})</span>
                    </Link>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2 id={linksId}>Links</h2>
      {links.length === 0 ? (
        <p className="muted">No links within this depth and direction.</p>
      ) : (
        <ul className="plain lineage-links" aria-labelledby={linksId}>
          {links.map((l) => (
            <li key={`${l.from}→${l.to}`}>
              {describe(l.from)} → {describe(l.to)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
