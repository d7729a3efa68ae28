import { type KeyboardEvent, useEffect, useId, useState } from 'react';
import { useQuery } from 'urql';
import { useLocation } from 'wouter';
import { errorMessage, graphql, type ResultOf, type VariablesOf } from '../../api.ts';
import { KIND_LABELS, objectHref } from '../../links.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { Highlighted } from './Highlighted.tsx';

const SEARCH = graphql(`
  query ConsoleHomeSearch($term: String!, $first: Int!, $kinds: [SearchKind!], $keyword: String, $tag: SearchTagFilter) {
    search(term: $term, first: $first, kinds: $kinds, keyword: $keyword, tag: $tag) {
      edges {
        node {
          id
          kind
          name
          version
          highlights { field key text keyRanges { start end } ranges { start end } }
        }
      }
      pageInfo { hasNextPage }
    }
  }
`);

type Result = ResultOf<typeof SEARCH>['search']['edges'][number]['node'];
type Kind = Result['kind'];
type Highlight = Result['highlights'][number];
type TagFilter = NonNullable<VariablesOf<typeof SEARCH>['tag']>;

/** Results shown under the box: a typeahead, not a results page. */
const SHOWN = 8;
/** How long typing must pause before the API is asked. */
const DEBOUNCE_MS = 250;

const KIND_CHOICES: readonly { value: Kind | ''; label: string }[] = [
  { value: '', label: 'All kinds' },
  { value: 'FEATURE_GROUP', label: 'Feature groups' },
  { value: 'FEATURE_VIEW', label: 'Feature views' },
  { value: 'TRAINING_DATASET', label: 'Training datasets' },
  { value: 'MODEL', label: 'Models' },
];

/** The console's page of a result (every kind search finds has one). */
export function resultHref(result: { kind: Kind; name: string; version: number }): string | null {
  return objectHref(result.kind, result.name, result.version);
}

/**
 * The box's text as search arguments: `tag:<name>` or `tag:<name>=<value>` (the value read as
 * JSON when it parses, else as a string) and `keyword:<word>` filter; the other words are the term.
 */
export function parseSearch(text: string): Pick<VariablesOf<typeof SEARCH>, 'term' | 'keyword' | 'tag'> {
  const words: string[] = [];
  let keyword: string | undefined;
  let tag: TagFilter | undefined;
  for (const word of text.trim().split(/\s+/)) {
    const filter = /^(tag|keyword):(.+)$/i.exec(word);
    if (!filter) {
      if (word !== '') words.push(word);
    } else if (filter[1]!.toLowerCase() === 'keyword') {
      keyword = filter[2]!;
    } else {
      const [name = '', ...rest] = filter[2]!.split('=');
      if (rest.length === 0) tag = { name };
      else {
        const raw = rest.join('=');
        let value: TagFilter['value'] = raw;
        try {
          value = JSON.parse(raw) as TagFilter['value'];
        } catch {
          // Not JSON: the value is the text as written.
        }
        tag = { name, value };
      }
    }
  }
  return { term: words.join(' '), ...(keyword ? { keyword } : {}), ...(tag ? { tag } : {}) };
}

/** The value after it has stopped changing for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

const FIELD_LABELS: Readonly<Record<Highlight['field'], string>> = {
  name: 'name',
  description: 'description',
  feature: 'feature',
  featureDescription: 'feature description',
  framework: 'framework',
  keyword: 'keyword',
  tag: 'tag',
};

/** Why a result matched: its first highlight other than the name (the name is shown marked already). */
function MatchReason({ highlight }: { highlight: Highlight }) {
  const label = FIELD_LABELS[highlight.field];
  if (highlight.field === 'tag') {
    return (
      <span className="why">
        {label} <Highlighted text={highlight.key ?? ''} ranges={highlight.keyRanges} />: <Highlighted text={highlight.text} ranges={highlight.ranges} />
      </span>
    );
  }
  const of = highlight.field === 'featureDescription' && highlight.key ? ` of ${highlight.key}` : '';
  return (
    <span className="why">
      {label}
      {of}: <Highlighted text={highlight.text} ranges={highlight.ranges} />
    </span>
  );
}

/**
 * A typeahead over the `search` query, following the ARIA combobox pattern (an input owning a
 * listbox; the active option named by aria-activedescendant while focus stays in the input).
 * Keys: ArrowDown / ArrowUp move through the results, Enter opens the active one (the first when
 * none is), Escape closes the list, then clears the box. A result opens its object's page.
 */
export function SearchBox() {
  const id = useId();
  const [text, setText] = useState('');
  const [kind, setKind] = useState<Kind | ''>('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [, navigate] = useLocation();

  const debounced = useDebounced(text, DEBOUNCE_MS);
  const parsed = parseSearch(debounced);
  const asked = parsed.term !== '' || parsed.keyword !== undefined || parsed.tag !== undefined;
  const [{ data, error, fetching }] = useQuery({
    query: SEARCH,
    variables: { ...parsed, first: SHOWN, kinds: kind === '' ? null : [kind] },
    pause: !asked,
  });
  const results = asked ? (data?.search.edges.map((e) => e.node) ?? []) : [];
  const more = asked && data?.search.pageInfo.hasNextPage === true;
  const expanded = open && results.length > 0;

  // New results: no option is active until the arrows pick one.
  const [shown, setShown] = useState(data);
  if (shown !== data) {
    setShown(data);
    setActive(-1);
  }

  const choose = (result: Result | undefined) => {
    const href = result ? resultHref(result) : null;
    if (href === null) return;
    setOpen(false);
    navigate(href);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    const n = results.length;
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        setOpen(true);
        if (n > 0) setActive(open ? (active + 1) % n : 0);
        break;
      case 'ArrowUp':
        event.preventDefault();
        setOpen(true);
        if (n > 0) setActive(open && active > 0 ? active - 1 : n - 1);
        break;
      case 'Enter':
        event.preventDefault();
        // Results of an earlier text stay listed until the new ones come: Enter opens only those of what is typed.
        if (expanded && debounced === text && !fetching) choose(results[Math.max(active, 0)]);
        break;
      case 'Escape':
        event.preventDefault();
        if (expanded) setOpen(false);
        else setText('');
        setActive(-1);
        break;
    }
  };

  const listId = `${id}-results`;
  const optionId = (i: number) => `${id}-option-${i}`;
  const status = !asked
    ? ''
    : fetching && !data
      ? 'Searching…'
      : results.length === 0
        ? 'Nothing matches.'
        : `${results.length} result${results.length === 1 ? '' : 's'}${more ? ', more exist: add words to narrow them' : ''}.`;

  return (
    <search className="home-search">
      <div className="home-search-row">
        <label htmlFor={`${id}-input`}>Search the project</label>
        <div className="home-search-field">
          <input
            id={`${id}-input`}
            type="text"
            role="combobox"
            autoComplete="off"
            spellCheck={false}
            aria-autocomplete="list"
            aria-expanded={expanded}
            aria-controls={listId}
            aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
            aria-describedby={`${id}-hint`}
            placeholder="customer tenure, tag:owner, keyword:churn"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setOpen(true);
            }}
            onFocus={() => setOpen(true)}
            onBlur={() => setOpen(false)}
            onKeyDown={onKeyDown}
          />
          <div id={listId} role="listbox" aria-label="Search results" className="home-search-results" hidden={!expanded}>
            {results.map((r, i) => {
              const href = resultHref(r);
              const reason = r.highlights.find((h) => h.field !== 'name');
              const nameRanges = r.highlights.find((h) => h.field === 'name')?.ranges ?? [];
              return (
                // The input keeps focus (aria-activedescendant): options are not focusable; they are
                // picked with the arrow keys there, or with the pointer here.
                // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox input handles the keyboard
                // biome-ignore lint/a11y/useFocusableInteractive: the combobox input keeps focus
                <div
                  key={r.id}
                  id={optionId(i)}
                  role="option"
                  aria-selected={i === active}
                  aria-disabled={href === null ? true : undefined}
                  className={i === active ? 'active' : undefined}
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => choose(r)}
                >
                  <span className="kind">{KIND_LABELS[r.kind]}</span>{' '}
                  <span className="name">
                    <Highlighted text={r.name} ranges={nameRanges} />
                  </span>{' '}
                  <span className="version">v{r.version}</span>
                  {href === null && <span className="muted"> (no page in the console)</span>}
                  {reason && <MatchReason highlight={reason} />}
                </div>
              );
            })}
          </div>
        </div>
        <label htmlFor={`${id}-kind`} className="visually-hidden">
          Kind of object
        </label>
        <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as Kind | '')}>
          {KIND_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      <p id={`${id}-hint`} className="muted home-search-hint">
        Words match names, descriptions, features, tags and keywords; <code>tag:name</code>, <code>tag:name=value</code> and <code>keyword:word</code> filter.
      </p>
      <p className="visually-hidden" aria-live="polite">
        {status}
      </p>
      {asked && !fetching && data && results.length === 0 && <p className="muted">Nothing matches.</p>}
      {error && <ErrorNote title="Search failed" message={errorMessage(error)} />}
    </search>
  );
}
