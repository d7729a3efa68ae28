// Entry of the prediction log's writer thread (see prediction-log-thread.ts): the sources are
// TypeScript run through tsx, and a worker thread does not inherit the loader the main thread
// registered, so it registers its own.
import { register } from 'tsx/esm/api';

register();
await import('./prediction-log-writer.ts');
