import { useEffect, useMemo, useRef, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { Link, Route, Switch, useLocation } from 'wouter';
import { createApiClient, errorMessage, graphql, isRefusal } from './api.ts';
import { ErrorNote, Loading } from './components/ErrorNote.tsx';
import { PageBoundary } from './components/PageBoundary.tsx';
import { DeploymentPage } from './pages/DeploymentPage.tsx';
import { DeploymentsPage } from './pages/DeploymentsPage.tsx';
import { FeatureGroupPage } from './pages/FeatureGroupPage.tsx';
import { FeatureGroupsPage } from './pages/FeatureGroupsPage.tsx';
import { HomePage } from './pages/HomePage.tsx';
import { ExecutionPage } from './pages/ExecutionPage.tsx';
import { FeatureViewPage } from './pages/FeatureViewPage.tsx';
import { FeatureViewsPage } from './pages/FeatureViewsPage.tsx';
import { AlertsPage } from './pages/AlertsPage.tsx';
import { JobPage } from './pages/JobPage.tsx';
import { LineagePage } from './pages/LineagePage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { JobsPage } from './pages/JobsPage.tsx';
import { ModelPage } from './pages/ModelPage.tsx';
import { ModelsPage } from './pages/ModelsPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { forgetKey, storedKey, storeKey } from './session.ts';
import { SignIn } from './SignIn.tsx';
import { ViewerContext, type ViewerInfo } from './viewer.tsx';

const VIEWER = graphql(`query ConsoleViewer { viewer { project { name } scopes apiKey { name } } }`);

/** Signs in (a key from the address bar's fragment, session storage or the sign-in box), then shows the console. */
export function App() {
  const [key, setKey] = useState<string | null>(() => storedKey());
  const [refused, setRefused] = useState<string | null>(null);
  if (key === null) {
    return (
      <SignIn
        error={refused}
        onKey={(k) => {
          storeKey(k);
          setRefused(null);
          setKey(k);
        }}
      />
    );
  }
  return (
    <SignedIn
      key={key}
      apiKey={key}
      onRefused={(message) => {
        forgetKey();
        setRefused(message);
        setKey(null);
      }}
      onSignOut={() => {
        forgetKey();
        setKey(null);
      }}
    />
  );
}

function SignedIn({ apiKey, onRefused, onSignOut }: { apiKey: string; onRefused: (message: string) => void; onSignOut: () => void }) {
  const api = useMemo(() => createApiClient(apiKey), [apiKey]);
  useEffect(() => () => api.close(), [api]);
  return (
    <Provider value={api.client}>
      <Shell onRefused={onRefused} onSignOut={onSignOut} />
    </Provider>
  );
}

function Shell({ onRefused, onSignOut }: { onRefused: (message: string) => void; onSignOut: () => void }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: VIEWER, requestPolicy: 'network-only' });
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // A new page: its name in the window's title, and the focus at its start (as a page load would),
  // so keyboard and screen-reader users land on what opened rather than on the link they left.
  useEffect(() => {
    document.title = `${titleOf(location)} · Granary`;
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [location]);
  const refused = error !== undefined && isRefusal(error);
  useEffect(() => {
    if (error && isRefusal(error)) onRefused(errorMessage(error));
  }, [error, onRefused]);
  if (error && !refused) {
    // The server is restarting or the network dropped: the key stays, and the user tries again.
    return (
      <section>
        <ErrorNote message={errorMessage(error)} />
        <button type="button" onClick={() => reexecute({ requestPolicy: 'network-only' })}>
          Try again
        </button>
      </section>
    );
  }
  if (fetching || !data) return <Loading what="your project" />;
  const viewer: ViewerInfo = {
    projectName: data.viewer.project.name,
    keyName: data.viewer.apiKey.name,
    // ADMIN includes WRITE (READ ⊂ WRITE ⊂ ADMIN).
    canWrite: data.viewer.scopes.some((s) => s === 'WRITE' || s === 'ADMIN'),
    canAdmin: data.viewer.scopes.includes('ADMIN'),
    signOut: onSignOut,
  };
  return (
    <ViewerContext.Provider value={viewer}>
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Main">
          <Link href="/" className="brand">
            Granary
          </Link>
          <Link href="/">Home</Link>
          <Link href="/feature-groups">Feature groups</Link>
          <Link href="/feature-views">Feature views</Link>
          <Link href="/models">Models</Link>
          <Link href="/deployments">Deployments</Link>
          <Link href="/jobs">Jobs</Link>
          <Link href="/lineage">Lineage</Link>
          <Link href="/alerts">Alerts</Link>
          <Link href="/settings">Settings</Link>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <div className="who">
          <span>
            project <strong>{viewer.projectName}</strong> · key {viewer.keyName}
            {viewer.canWrite ? '' : ' (read only)'}
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="content" ref={main} tabIndex={-1}>
        <PageBoundary key={location}>
          <Switch>
            <Route path="/" component={HomePage} />
            <Route path="/feature-groups" component={FeatureGroupsPage} />
            <Route path="/feature-groups/:name/:tab?">{(params) => <FeatureGroupPage name={params.name} tab={params.tab} />}</Route>
            <Route path="/feature-views" component={FeatureViewsPage} />
            <Route path="/feature-views/:name/:tab?">{(params) => <FeatureViewPage name={params.name} tab={params.tab} />}</Route>
            <Route path="/models" component={ModelsPage} />
            <Route path="/models/:name">{(params) => <ModelPage name={params.name} />}</Route>
            <Route path="/deployments" component={DeploymentsPage} />
            <Route path="/deployments/:name">{(params) => <DeploymentPage name={params.name} />}</Route>
            <Route path="/jobs" component={JobsPage} />
            <Route path="/jobs/:name">{(params) => <JobPage name={params.name} />}</Route>
            <Route path="/jobs/:name/runs/:id">{(params) => <ExecutionPage job={params.name} id={decodedId(params.id)} />}</Route>
            <Route path="/lineage" component={LineagePage} />
            <Route path="/alerts" component={AlertsPage} />
            <Route path="/settings/:section?">{(params) => <SettingsPage section={params.section} />}</Route>
            <Route component={NotFoundPage} />
          </Switch>
        </PageBoundary>
      </main>
    </ViewerContext.Provider>
  );
}

/** A path segment's id: wouter decodes the path with decodeURI, so `%2F`-style escapes may remain; a malformed one stays as it is. */
function decodedId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A page's title from its path: `/feature-groups/customer_info/statistics` → `customer_info · statistics · feature groups`. */
export function titleOf(path: string): string {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.length === 0) return 'Home';
  const [section, ...rest] = parts;
  return [...rest.filter((p) => p !== 'runs').map(decodedId), section!.replace(/-/g, ' ')].join(' · ');
}
