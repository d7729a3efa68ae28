import { z } from 'zod';

/** `{ name, version }` as job configs name feature groups and views; the latest version when omitted. */
export const objectRef = z.object({
  name: z.string().min(1, 'name is required'),
  version: z.number().int().positive().nullish(),
});

/** An ISO 8601 date-time with an offset, kept as the string (configs are stored as JSON). */
export const isoTime = z.iso.datetime({ offset: true });
