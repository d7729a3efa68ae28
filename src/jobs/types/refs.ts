import { z } from 'zod';

/** `{ name, version }` as job configs name feature groups and views; the latest version when omitted. */
export const objectRef = z.object({
  name: z.string().min(1, 'name is required'),
  version: z.number().int().positive().nullish(),
});

/** An ISO 8601 date-time with an offset, kept as the string (configs are stored as JSON). */
export const isoTime = z.iso.datetime({ offset: true });

/** `name version 2`, or `name (latest)`, as messages name a ref. */
export function refText(ref: { readonly name: string; readonly version?: number | null }): string {
  return ref.version == null ? `${ref.name} (latest)` : `${ref.name} version ${ref.version}`;
}
