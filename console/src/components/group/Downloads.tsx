import { useState } from 'react';
import { DownloadFailed, saveDownload } from '../../download.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { formatBytes } from './values.tsx';

export interface DownloadLink {
  readonly label: string;
  /** `downloadUrl` of the API: a path relative to the origin, read with the Authorization header. */
  readonly path: string;
  /** The file name to save under when the server does not name it. */
  readonly fileName: string;
}

/**
 * Buttons that download a table (a group's rows, a training dataset split). A download path needs the Authorization header, which a
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
      const saved = await saveDownload(link.path, link.fileName);
      setDone(`Saved ${saved.fileName} (${formatBytes(saved.size)}).`);
    } catch (e) {
      setError(e instanceof DownloadFailed ? e.message : `could not download: ${e instanceof Error ? e.message : String(e)}`);
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
