// The API key the console signs in with. The server prints a console URL carrying the key in the
// fragment (`/#key=…`), which browsers never send; the page moves it to session storage (gone when
// the tab closes) and takes it out of the address bar and history.

// The same entry GraphiQL (/graphql) keeps its key in: opening it from the console stays signed in.
const STORAGE_KEY = 'granary.key';

/** Takes a key from the address bar's fragment, if any, into session storage. */
export function adoptKeyFromLocation(): void {
  const hash = window.location.hash.replace(/^#/, '');
  if (hash === '') return;
  const params = new URLSearchParams(hash);
  const key = params.get('key');
  if (key === null) return;
  if (key.trim() !== '') sessionStorage.setItem(STORAGE_KEY, key.trim());
  params.delete('key');
  const rest = params.toString();
  window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}${rest === '' ? '' : `#${rest}`}`);
}

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
