import { useState } from 'react';
import { storedKey } from '../../session.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { formatBytes } from './values.tsx';

export interface DownloadLink {
  readonly label: string;
  /** `downloadUrl` of the API: a path relative to the origin, read with the Authorization header. */
  readonly path: string;
  /** The file name to save under when the server does not name it. */
  readonly fileName: string;
}

/** The file name of a `content-disposition: attachment; filename="…"` header, if any. */
function attachmentName(header: string | null): string | null {
  const match = header ? /filename="([^"]+)"/.exec(header) : null;
  return match?.[1] ?? null;
}

/** The message of the server's JSON error body (`{ error: { message } }`), else the status. */
async function failureMessage(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // Not JSON: the status says enough.
  }
  return `the download failed with HTTP ${res.status}`;
}

/**
 * Buttons that download the group's rows. A download path needs the Authorization header, which a
 * plain link cannot send: the file is fetched with the session's key and handed to the browser as
 * a Blob under an object URL (revoked once the browser has it).
 */
export function Downloads({ links, note }: { links: readonly DownloadLink[]; note: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const download = async (link: DownloadLink) => {
    setBusy(link.label);
    setDone(null);
    setError(null);
    try {
      const key = storedKey();
      const res = await fetch(link.path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      if (!res.ok) {
        setError(await failureMessage(res));
        return;
      }
      const blob = await res.blob();
      const fileName = attachmentName(res.headers.get('content-disposition')) ?? link.fileName;
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = fileName;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDone(`Saved ${fileName} (${formatBytes(blob.size)}).`);
    } catch (e) {
      setError(`could not download: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div>
      <p className="muted">{note}</p>
      <div className="toolbar">
        {links.map((link) => (
          <button key={link.label} type="button" onClick={() => void download(link)} disabled={busy !== null}>
            {busy === link.label ? `Preparing ${link.label}…` : `Download ${link.label}`}
          </button>
        ))}
      </div>
      <p aria-live="polite" className="status">
        {done}
      </p>
      {error && <ErrorNote title="The download failed" message={error} />}
    </div>
  );
}
