import { useState } from 'react';

/** A string in single quotes for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The request a "try it" box sent, to copy: the GraphQL document with its variables, and the same
 * call as a curl command that reads the key from `$GRANARY_API_KEY` (the console never shows one).
 */
export function RequestTexts({ graphql, variables, curl }: { graphql: string; variables: string; curl: string }) {
  return (
    <div className="request-texts">
      <section>
        <h4>GraphQL request</h4>
        <pre className="request">
          <code>{graphql}</code>
        </pre>
        <p className="muted">Variables</p>
        <pre className="request">
          <code>{variables}</code>
        </pre>
        <CopyButton label="Copy GraphQL request" text={`${graphql}\n\n# variables\n${variables}`} />
      </section>
      <section>
        <h4>curl</h4>
        <pre className="request">
          <code>{curl}</code>
        </pre>
        <CopyButton label="Copy curl command" text={curl} />
        <p className="muted">
          Set <code>GRANARY_API_KEY</code> to an API key of this project first; the console never shows one.
        </p>
      </section>
    </div>
  );
}

/** Copies a text to the clipboard, saying whether it could. */
export function CopyButton({ label, text }: { label: string; text: string }) {
  const [status, setStatus] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied.');
    } catch (e) {
      setStatus(`Could not copy (${e instanceof Error ? e.message : String(e)}): select the text and copy it.`);
    }
  };
  return (
    <div className="toolbar">
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>
      <span aria-live="polite" className="muted">
        {status}
      </span>
    </div>
  );
}
