import { useEffect, useMemo, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { Link, Route, Switch } from 'wouter';
import { createApiClient, errorMessage, graphql } from './api.ts';
import { Loading } from './components/ErrorNote.tsx';
import { FeatureGroupPage } from './pages/FeatureGroupPage.tsx';
import { FeatureGroupsPage } from './pages/FeatureGroupsPage.tsx';
import { HomePage } from './pages/HomePage.tsx';
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
  const [{ data, error, fetching }] = useQuery({ query: VIEWER, requestPolicy: 'network-only' });
  useEffect(() => {
    if (error) onRefused(errorMessage(error));
  }, [error, onRefused]);
  if (fetching || !data) return <Loading what="your project" />;
  const viewer: ViewerInfo = {
    projectName: data.viewer.project.name,
    keyName: data.viewer.apiKey.name,
    // ADMIN includes WRITE (READ ⊂ WRITE ⊂ ADMIN).
    canWrite: data.viewer.scopes.some((s) => s === 'WRITE' || s === 'ADMIN'),
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
      <main id="content">
        <Switch>
          <Route path="/" component={HomePage} />
          <Route path="/feature-groups" component={FeatureGroupsPage} />
          <Route path="/feature-groups/:name/:tab?">{(params) => <FeatureGroupPage name={params.name} tab={params.tab} />}</Route>
          <Route component={NotFoundPage} />
        </Switch>
      </main>
    </ViewerContext.Provider>
  );
}
