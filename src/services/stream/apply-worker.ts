import { parentPort, workerData } from 'node:worker_threads';
import { openOnlineStore } from '../../stores/online/index.ts';
import { applyMessages } from './apply-messages.ts';
import type { ApplyReply, ApplyRequest, ApplyThreadData } from './apply-thread.ts';

// The apply thread's side (see apply-thread.ts): the composition root of its thread, which opens
// its own online store with the backend the server's root chose (same options).

const port = parentPort!;
const online = openOnlineStore(workerData as ApplyThreadData);

async function handle(request: ApplyRequest) {
  if (request.op === 'close') {
    await online.close();
    setImmediate(() => port.close());
    return null;
  }
  return applyMessages(online, request.table, request.writeOnline, request.messages);
}

port.on('message', (message: ApplyRequest & { id: number }) => {
  handle(message).then(
    (value) => port.postMessage({ id: message.id, value } satisfies ApplyReply),
    (error: unknown) => port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies ApplyReply),
  );
});
