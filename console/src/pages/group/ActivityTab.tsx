import { useCallback, useEffect, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { argumentsText, ValidationOutcome } from '../../components/group/ValidationOutcome.tsx';
import { formatBytes } from '../../components/group/values.tsx';
import { formatTime } from '../../format.ts';
import type { GroupTabProps } from './tab.ts';
import './group.css';

/** Commits per page of the timeline. */
const PAGE = 25;

const COMMITS = graphql(`
  query ConsoleGroupCommits($name: String!, $version: Int!, $first: Int!, $after: String) {
    featureGroup(name: $name, version: $version) {
      id
      commits(first: $first, after: $after) {
        id
        committedAt
        createdBy
        operation
        rowCount
        rowsInserted
        rowsUpdated
        bytes
        storage
        onlineWritten
        logRange { from to }
        validationReport
      }
    }
  }
`);

const SUITE = graphql(`
  query ConsoleGroupSuite($name: String!, $version: Int!) {
    featureGroup(name: $name, version: $version) {
      id
      expectationSuite { name ingestionPolicy createdAt updatedAt expectations { type kwargs } }
    }
  }
`);

const COLUMNS = 9;

const STORAGE_LABEL = { BOTH: 'offline + online', OFFLINE: 'offline', ONLINE: 'online only' } as const;

/** What was done to the group: its commits, newest first, and the suite its inserts are validated against. */
export function ActivityTab({ name, version }: GroupTabProps) {
  return (
    <>
      <h2>Commits</h2>
      <Timeline key={`${name}@${version}`} name={name} version={version} />
      <h2>Expectation suite</h2>
      <Suite name={name} version={version} />
    </>
  );
}

interface PageState {
  readonly lastId: string | null;
  readonly count: number;
}

/**
 * The commit timeline, one `<tbody>` per page: a page starts after the last commit of the one
 * before (`after`), and a page shorter than asked for is the last.
 */
function Timeline({ name, version }: GroupTabProps) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [pages, setPages] = useState<Record<number, PageState>>({});
  const onLoaded = useCallback((index: number, state: PageState) => {
    setPages((p) => (p[index]?.lastId === state.lastId && p[index]?.count === state.count ? p : { ...p, [index]: state }));
  }, []);
  const last = pages[cursors.length - 1];
  const more = last !== undefined && last.count > PAGE && last.lastId !== null;
  const empty = pages[0]?.count === 0;
  return (
    <>
      {empty ? (
        <p>No commits yet.</p>
      ) : (
        <table className="list commits">
          <caption className="visually-hidden">
            Commits of {name} version {version}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Committed</th>
              <th scope="col">By</th>
              <th scope="col">Operation</th>
              <th scope="col" className="num">
                Inserted
              </th>
              <th scope="col" className="num">
                Updated
              </th>
              <th scope="col" className="num">
                Rows written
              </th>
              <th scope="col">Storage</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Validation</th>
            </tr>
          </thead>
          {cursors.map((after, index) => (
            <CommitPage key={after ?? 'newest'} name={name} version={version} after={after} index={index} onLoaded={onLoaded} />
          ))}
        </table>
      )}
      {more && (
        <p>
          <button type="button" onClick={() => setCursors((c) => [...c, last.lastId])}>
            Show older commits
          </button>
        </p>
      )}
    </>
  );
}

function CommitPage({
  name,
  version,
  after,
  index,
  onLoaded,
}: GroupTabProps & { after: string | null; index: number; onLoaded: (index: number, state: PageState) => void }) {
  // One commit more than shown: whether an older page exists is known without asking for it.
  const [{ data, error, fetching }] = useQuery({ query: COMMITS, variables: { name, version, first: PAGE + 1, after } });
  const fetched = data?.featureGroup?.commits;
  const commits = useMemo(() => fetched?.slice(0, PAGE), [fetched]);
  useEffect(() => {
    if (commits && fetched) onLoaded(index, { lastId: commits[commits.length - 1]?.id ?? null, count: fetched.length });
  }, [commits, fetched, index, onLoaded]);
  if (error || (fetching && !data) || (data && !data.featureGroup)) {
    return (
      <tbody>
        <tr>
          <td colSpan={COLUMNS}>
            {error ? (
              <ErrorNote message={errorMessage(error)} />
            ) : data ? (
              <ErrorNote title="Not found" message={`no feature group ${name} version ${version}`} />
            ) : (
              <Loading what="commits" />
            )}
          </td>
        </tr>
      </tbody>
    );
  }
  return (
    <tbody>
      {(commits ?? []).map((c) => (
        <tr key={c.id}>
          <th scope="row">
            <time dateTime={c.committedAt}>{formatTime(c.committedAt)}</time>
            <div className="muted commit-id" title={c.id}>
              {c.id.slice(0, 13)}…
            </div>
          </th>
          <td>{c.createdBy ?? <span className="muted">—</span>}</td>
          <td>
            {c.operation.toLowerCase()}
            {c.logRange && (
              <div className="muted">
                streamed, log {c.logRange.from}–{c.logRange.to}
              </div>
            )}
          </td>
          <td className="num">{c.rowsInserted.toLocaleString()}</td>
          <td className="num">{c.rowsUpdated.toLocaleString()}</td>
          <td className="num">{c.rowCount.toLocaleString()}</td>
          <td>
            {STORAGE_LABEL[c.storage]}
            {c.storage !== 'OFFLINE' && !c.onlineWritten && <div className="muted">online rows pending</div>}
          </td>
          <td className="num">{formatBytes(c.bytes)}</td>
          <td>
            <ValidationOutcome report={c.validationReport} />
          </td>
        </tr>
      ))}
    </tbody>
  );
}

/** The expectation suite and its expectations, in evaluation order. */
function Suite({ name, version }: GroupTabProps) {
  const [{ data, error, fetching }] = useQuery({ query: SUITE, variables: { name, version } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="the expectation suite" />;
  const suite = data?.featureGroup?.expectationSuite;
  if (!suite) return <p className="muted">No expectation suite: inserts are not validated.</p>;
  return (
    <>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{suite.name}</dd>
        <dt>Policy</dt>
        <dd>
          {suite.ingestionPolicy}{' '}
          <span className="muted">({suite.ingestionPolicy === 'STRICT' ? 'a failing insert is rejected' : 'committed with its report'})</span>
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(suite.createdAt)}</dd>
        <dt>Saved</dt>
        <dd>{formatTime(suite.updatedAt)}</dd>
      </dl>
      {suite.expectations.length === 0 ? (
        <p className="muted">The suite has no expectations.</p>
      ) : (
        <table className="list">
          <caption className="visually-hidden">Expectations of suite {suite.name}, in evaluation order</caption>
          <thead>
            <tr>
              <th scope="col" className="num">
                #
              </th>
              <th scope="col">Expectation</th>
              <th scope="col">Column</th>
              <th scope="col">Arguments</th>
            </tr>
          </thead>
          <tbody>
            {suite.expectations.map((e, i) => {
              const kwargs = (typeof e.kwargs === 'object' && e.kwargs !== null && !Array.isArray(e.kwargs) ? e.kwargs : {}) as Record<string, unknown>;
              return (
                // Expectations have no id; the suite's order is their identity.
                // biome-ignore lint/suspicious/noArrayIndexKey: see above
                <tr key={i}>
                  <td className="num">{i + 1}</td>
                  <th scope="row">
                    <code>{e.type}</code>
                  </th>
                  <td>{typeof kwargs.column === 'string' ? kwargs.column : <span className="muted">table</span>}</td>
                  <td>{argumentsText(kwargs) || <span className="muted">—</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </>
  );
}
