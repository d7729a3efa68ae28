import type { Services } from './app.ts';
import type { MetadataClient } from './stores/metadata/client.ts';
import type { Viewer } from './services/viewer.ts';

/** What every resolver sees: the authenticated caller and the services it may call. */
export interface Context {
  readonly viewer: Viewer;
  readonly services: Services;
  readonly prisma: MetadataClient;
}
