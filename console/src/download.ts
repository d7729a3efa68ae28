import { storedKey } from './session.ts';

/** The file name of a `content-disposition` header (`filename*=UTF-8''…` first, then `filename="…"`), if any. */
function attachmentName(header: string | null): string | null {
  if (!header) return null;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (encoded?.[1]) {
    try {
      return decodeURIComponent(encoded[1]);
    } catch {
      // A malformed escape: fall back to the plain name.
    }
  }
  return /filename="([^"]+)"/.exec(header)?.[1] ?? null;
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

/** A download the server refused or the network lost, with the message to show. */
export class DownloadFailed extends Error {}

/**
 * Fetches a download path of the API (`downloadUrl`, `archiveUrl`) with the session's key in the
 * Authorization header — a plain link cannot send it, and the key never goes in a URL — and hands
 * the content to the browser as a Blob under an object URL (revoked once the browser has it).
 * Returns the name it was saved under and its size; throws {@link DownloadFailed} with the
 * server's message.
 */
export async function saveDownload(path: string, fallbackName: string): Promise<{ fileName: string; size: number }> {
  const key = storedKey();
  let res: Response;
  try {
    res = await fetch(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  } catch (e) {
    throw new DownloadFailed(`could not download: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) throw new DownloadFailed(await failureMessage(res));
  const blob = await res.blob();
  const fileName = attachmentName(res.headers.get('content-disposition')) ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = fileName;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { fileName, size: blob.size };
}
