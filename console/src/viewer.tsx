import { createContext, useContext } from 'react';

/** Who the console is signed in as: the project, and whether the key may change things. */
export interface ViewerInfo {
  readonly projectName: string;
  readonly keyName: string;
  readonly canWrite: boolean;
  /** An ADMIN key: may manage API keys (pages for ADMIN alone are hidden from other keys). */
  readonly canAdmin: boolean;
  readonly signOut: () => void;
}

export const ViewerContext = createContext<ViewerInfo | null>(null);

export function useViewer(): ViewerInfo {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer outside a signed-in console');
  return viewer;
}

/** Why a mutating control is disabled for a key without WRITE. */
export const READ_ONLY_REASON = 'This key can only read: sign in with a WRITE key to change things.';
