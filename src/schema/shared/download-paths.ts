// Download URLs that GraphQL fields hand out, relative to the server's origin. The HTTP edge
// (src/http/files.ts, model-files.ts) serves these same paths.

/** Where every download route begins. */
export const FILES_PREFIX = '/files/';

/** The last segment of a model version's archive download. */
export const MODEL_ARCHIVE = 'archive';

/** The download URL of a feature group's data, relative to the server's origin. */
export function featureGroupDataPath(name: string, version: number, format: 'PARQUET' | 'CSV', asOf?: Date | null): string {
  const path = `${FILES_PREFIX}feature-groups/${encodeURIComponent(name)}/${version}/data.${format.toLowerCase()}`;
  return asOf ? `${path}?asOf=${encodeURIComponent(asOf.toISOString())}` : path;
}

/** The download URL of a training dataset split's rows (transformed unless `transformed` is false). */
export function trainingSplitPath(
  view: { name: string; version: number },
  datasetVersion: number,
  split: string,
  format: 'PARQUET' | 'CSV',
  transformed: boolean,
): string {
  const path = `${FILES_PREFIX}feature-views/${encodeURIComponent(view.name)}/${view.version}/training-datasets/${datasetVersion}/${encodeURIComponent(split)}.${format.toLowerCase()}`;
  return transformed ? path : `${path}?transformed=false`;
}

/** Download path of one file of a model version, relative to the server's origin (each segment URL-encoded). */
export function modelFilePath(name: string, version: number, path: string): string {
  return `${FILES_PREFIX}models/${encodeURIComponent(name)}/${version}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** Download path of a whole model version as a tar archive. */
export function modelArchivePath(name: string, version: number): string {
  return `${FILES_PREFIX}models/${encodeURIComponent(name)}/${version}/${MODEL_ARCHIVE}`;
}
