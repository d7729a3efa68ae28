import { parentPort, workerData } from 'node:worker_threads';
import type { OnlineColumns } from '../../online/online-store.ts';
import type { InsertSource } from '../offline-store.ts';
import { type BufferedSource, serializeError, type StagedSnapshot, type StagingReply, type StagingRequest, type StagingWorkerData } from './staging-thread.ts';
import type { DuckDbStagedCommit } from './staged-commit.ts';
import { DuckDbOfflineStore } from './store.ts';

// The staging thread's side (see staging-thread.ts): its own DuckDB store over the same folder,
// staged commits kept by handle, online batches handed out one request at a time.

const port = parentPort!;
const data = workerData as StagingWorkerData;
const store = new DuckDbOfflineStore(data.root, data.options);
const staged = new Map<number, DuckDbStagedCommit>();
const iterators = new Map<number, AsyncIterator<OnlineColumns>>();
const buffers = new Map<number, Record<string, unknown>[]>();
const messageBuffers = new Map<number, Uint8Array[]>();
let nextHandle = 1;

function snapshot(handle: number): StagedSnapshot {
  const commit = get(handle);
  return {
    handle,
    commitId: commit.commitId,
    files: commit.files,
    bytes: commit.bytes,
    rowCount: commit.rowCount,
    rowsInserted: commit.rowsInserted,
    rowsUpdated: commit.rowsUpdated,
    sourceMessages: commit.sourceMessages,
  };
}

function get(handle: number): DuckDbStagedCommit {
  const commit = staged.get(handle);
  if (!commit) throw new Error(`staged commit ${handle} is gone`);
  return commit;
}

function source(given: InsertSource | BufferedSource): InsertSource {
  if (given.kind !== 'buffered') return given;
  if (given.maxRows !== undefined) {
    const messages = messageBuffers.get(given.buffer) ?? [];
    messageBuffers.delete(given.buffer);
    return { kind: 'messages', messages, maxRows: given.maxRows };
  }
  const rows = buffers.get(given.buffer) ?? [];
  buffers.delete(given.buffer);
  return { kind: 'rows', rows };
}

async function handle(request: StagingRequest): Promise<unknown> {
  switch (request.op) {
    case 'rows': {
      const rows = buffers.get(request.buffer) ?? [];
      for (const row of request.rows) rows.push(row);
      buffers.set(request.buffer, rows);
      return null;
    }
    case 'messages': {
      const messages = messageBuffers.get(request.buffer) ?? [];
      for (const m of request.messages) messages.push(m);
      messageBuffers.set(request.buffer, messages);
      return null;
    }
    case 'stage': {
      const commit = await store.stage(request.location, request.schema, request.commitId, source(request.source), request.options);
      const id = nextHandle++;
      staged.set(id, commit as DuckDbStagedCommit);
      return snapshot(id);
    }
    case 'infer':
      return store.infer(source(request.source));
    case 'rowsSql':
      return get(request.handle).rowsSql();
    case 'query':
      return get(request.handle).query(() => request.statements);
    case 'recount':
      await get(request.handle).recount(request.existing);
      return snapshot(request.handle);
    case 'renumber':
      await get(request.handle).renumber(request.commitId);
      return snapshot(request.handle);
    case 'publish':
      await get(request.handle).publish();
      return snapshot(request.handle);
    case 'discard': {
      await get(request.handle).discard();
      const last = snapshot(request.handle);
      staged.delete(request.handle);
      return last;
    }
    case 'release':
      staged.delete(request.handle);
      return null;
    case 'online': {
      const id = nextHandle++;
      iterators.set(id, get(request.handle).onlineColumns(request.batchRows)[Symbol.asyncIterator]());
      return id;
    }
    case 'next': {
      const iterator = iterators.get(request.iterator);
      if (!iterator) throw new Error(`online rows ${request.iterator} are gone`);
      const next = await iterator.next();
      if (next.done) iterators.delete(request.iterator);
      return next.done ? { done: true } : { done: false, value: next.value };
    }
    case 'return': {
      const iterator = iterators.get(request.iterator);
      iterators.delete(request.iterator);
      await iterator?.return?.();
      return null;
    }
    case 'close':
      await store.close();
      setImmediate(() => port.close());
      return null;
  }
}

port.on('message', (message: StagingRequest & { id: number }) => {
  handle(message).then(
    (value) => port.postMessage({ id: message.id, value } satisfies StagingReply),
    (error: unknown) => port.postMessage({ id: message.id, error: serializeError(error) } satisfies StagingReply),
  );
});
