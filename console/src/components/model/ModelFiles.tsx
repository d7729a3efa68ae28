import { useState } from 'react';
import { ErrorNote } from '../ErrorNote.tsx';
import { formatBytes } from '../group/values.tsx';
import { DownloadFailed, saveDownload } from '../../download.ts';

export interface ModelFileRow {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly downloadUrl: string;
}

/** The last segment of a path inside the version: the name a file is saved under. */
function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * A model version's files with their size and SHA-256, a download button for each and one for the
 * tar archive of them all. Downloads go through {@link saveDownload}: the key stays in a header.
 */
export function ModelFiles({ label, files, archiveUrl }: { label: string; files: readonly ModelFileRow[]; archiveUrl: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const download = async (what: string, path: string, fallbackName: string) => {
    setBusy(what);
    setDone(null);
    setError(null);
    try {
      const saved = await saveDownload(path, fallbackName);
      setDone(`Saved ${saved.fileName} (${formatBytes(saved.size)}).`);
    } catch (e) {
      setError(e instanceof DownloadFailed ? e.message : `could not download: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      setBusy(null);
    }
  };

  if (files.length === 0) return <p className="muted">No files registered with this version.</p>;
  const total = files.reduce((sum, f) => sum + f.size, 0);
  return (
    <>
      <table className="list files">
        <caption className="visually-hidden">Files of {label}</caption>
        <thead>
          <tr>
            <th scope="col">Path</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">SHA-256</th>
            <th scope="col">
              <span className="visually-hidden">Download</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr key={f.path}>
              <th scope="row">
                <code>{f.path}</code>
              </th>
              <td className="num" title={`${f.size.toLocaleString()} bytes`}>
                {formatBytes(f.size)}
              </td>
              <td>
                <code className="sha">{f.sha256}</code>
              </td>
              <td>
                <button type="button" disabled={busy !== null} onClick={() => void download(f.path, f.downloadUrl, baseName(f.path))}>
                  {busy === f.path ? 'Downloading…' : 'Download'}
                  <span className="visually-hidden"> {f.path}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="toolbar">
        <button type="button" disabled={busy !== null} onClick={() => void download('archive', archiveUrl, `${label.replace(/\s+/g, '_')}.tar`)}>
          {busy === 'archive' ? 'Preparing the archive…' : 'Download all files (tar)'}
        </button>
        <span className="muted">
          {files.length} {files.length === 1 ? 'file' : 'files'}, {formatBytes(total)} in all
        </span>
      </div>
      <p aria-live="polite" className="status">
        {done}
      </p>
      {error && <ErrorNote title="The download failed" message={error} />}
    </>
  );
}
