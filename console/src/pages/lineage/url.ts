import { isRootKind, type RootKind } from '../../components/lineage/model.ts';

// The lineage page keeps everything it shows in its query string, so a reload or a shared link
// shows the same graph: `/lineage?kind=MODEL&name=churnmodel&version=1&direction=BOTH&depth=3`.

export const DIRECTIONS = ['UPSTREAM', 'BOTH', 'DOWNSTREAM'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The API's bounds and default for `depth`. */
export const MIN_DEPTH = 1;
export const MAX_DEPTH = 50;
export const DEFAULT_DEPTH = 10;

export interface LineageRequest {
  readonly kind: RootKind;
  readonly name: string;
  /** null: the latest version. */
  readonly version: number | null;
  readonly direction: Direction;
  readonly depth: number;
}

/** What the query string asks for; `problems` names parameters that were given but are not valid (the page says so). */
export interface ParsedRequest {
  readonly request: LineageRequest | null;
  readonly problems: readonly string[];
  /** The kind and name typed so far, to prefill the form. */
  readonly kind: string;
  readonly name: string;
  readonly version: string;
}

export function isDepth(value: number): boolean {
  return Number.isInteger(value) && value >= MIN_DEPTH && value <= MAX_DEPTH;
}

export function parseRequest(search: string): ParsedRequest {
  const params = new URLSearchParams(search);
  const kind = params.get('kind') ?? '';
  const name = params.get('name') ?? '';
  const version = params.get('version') ?? '';
  const direction = params.get('direction') ?? 'BOTH';
  const depth = params.get('depth') ?? String(DEFAULT_DEPTH);
  const problems: string[] = [];
  if (kind !== '' && !isRootKind(kind)) problems.push(`kind “${kind}” is not one of feature group, feature view, training dataset or model`);
  if (version !== '' && !/^[1-9]\d*$/.test(version)) problems.push(`version “${version}” is not a positive whole number`);
  if (!(DIRECTIONS as readonly string[]).includes(direction)) problems.push(`direction “${direction}” is not UPSTREAM, DOWNSTREAM or BOTH`);
  if (!/^\d+$/.test(depth) || !isDepth(Number(depth))) problems.push(`depth “${depth}” is not a whole number from ${MIN_DEPTH} to ${MAX_DEPTH}`);
  const request: LineageRequest | null =
    problems.length === 0 && isRootKind(kind) && name !== ''
      ? { kind, name, version: version === '' ? null : Number(version), direction: direction as Direction, depth: Number(depth) }
      : null;
  return { request, problems, kind, name, version };
}

/** The page's URL for a request; the version and the default depth are left out when absent. */
export function lineageHref(request: Omit<LineageRequest, 'direction' | 'depth'> & Partial<Pick<LineageRequest, 'direction' | 'depth'>>): string {
  const params = new URLSearchParams({ kind: request.kind, name: request.name });
  if (request.version !== null) params.set('version', String(request.version));
  params.set('direction', request.direction ?? 'BOTH');
  params.set('depth', String(request.depth ?? DEFAULT_DEPTH));
  return `/lineage?${params}`;
}
