import { useQuery } from 'urql';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { ScopeBadges } from '../../components/settings/scopes.tsx';
import { formatTime } from '../../format.ts';

const PROJECT = graphql(`
  query ConsoleSettingsProject {
    viewer {
      scopes
      project { id name description createdAt }
      apiKey { id name prefix scopes createdAt lastUsedAt expiresAt }
    }
  }
`);

/** What each scope lets a key do (READ ⊂ WRITE ⊂ ADMIN), as the API's `Scope` enum says. */
const SCOPE_MEANING = {
  READ: 'queries and subscriptions',
  WRITE: 'mutations that create, change or delete objects and data',
  ADMIN: 'managing keys, tag schemas, alert receivers and jobs that run programs; on the first project, the whole server',
} as const;

/** The project (name, description, creation) and the key the console is signed in with. */
export function ProjectSection() {
  const [{ data, error, fetching }] = useQuery({ query: PROJECT });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="the project" />;
  if (!data) return null;
  const { project, apiKey, scopes } = data.viewer;
  // Scopes nest: a key holds what its highest scope includes.
  const effective = (['READ', 'WRITE', 'ADMIN'] as const).filter((_, i, all) => all.slice(i).some((s) => scopes.includes(s)));
  return (
    <>
      <h2>Project</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{project.name}</dd>
        <dt>Description</dt>
        <dd>{project.description || <span className="muted">none</span>}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={project.createdAt}>{formatTime(project.createdAt)}</time>
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{project.id}</code>
        </dd>
      </dl>
      <p className="muted">A key sees only its own project: feature groups, views, models, jobs, alerts and keys live inside it.</p>
      <h2>This key</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{apiKey.name}</dd>
        <dt>Prefix</dt>
        <dd>
          <code>gra_{apiKey.prefix}_…</code>
        </dd>
        <dt>Scopes</dt>
        <dd>
          <ScopeBadges scopes={apiKey.scopes} />
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(apiKey.createdAt)}</dd>
        <dt>Last used</dt>
        <dd>{formatTime(apiKey.lastUsedAt)}</dd>
        <dt>Expires</dt>
        <dd>{apiKey.expiresAt ? formatTime(apiKey.expiresAt) : 'never'}</dd>
      </dl>
      <h3>What it may do</h3>
      <ul className="scope-meaning">
        {effective.map((s) => (
          <li key={s}>
            <strong>{s}</strong>: {SCOPE_MEANING[s]}
          </li>
        ))}
      </ul>
    </>
  );
}
