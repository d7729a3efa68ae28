// Entry of the apply thread (see apply-thread.ts): the sources are TypeScript run through tsx, and a
// worker thread does not inherit the loader the main thread registered, so it registers its own.
import { register } from 'tsx/esm/api';

register();
await import('./apply-worker.ts');
