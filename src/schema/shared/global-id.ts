import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError } from '../../errors.ts';

/**
 * The database id behind a global id of `typename`. Anything else (not a global id at all, or
 * another type's) names no object of that type, so it is a NotFoundError naming the id as given,
 * the same answer as an id that decodes but does not exist.
 */
export function idOf(globalId: string, typename: string): string {
  try {
    const decoded = decodeGlobalID(globalId);
    if (decoded.typename === typename && decoded.id) return decoded.id;
  } catch {
    // not a global id
  }
  throw new NotFoundError(typename, globalId);
}
