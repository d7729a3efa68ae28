import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { TSV_HEADER, tsvLine } from './prediction-log-rows.ts';
import type { WriterData, WriterReply, WriterRequest } from './prediction-log-thread.ts';

// The prediction log's writer thread (see prediction-log-thread.ts): turns the rows it is sent into
// TSV lines as they arrive and appends them to a file per deployment at once, so no row is held
// as text until a flush (held for seconds, they would be copied by every garbage collection);
// `write` closes a deployment's file and hands it over.

const port = parentPort!;

// Below the threads that answer requests: on Linux a thread's nice value is its own (pid 0 is the
// calling thread), so this lowers only the writer, which catches up whenever a core is free.
try {
  setPriority(0, 10);
} catch {
  // not allowed here: the writer runs at the process's priority
}
const { dir } = workerData as WriterData;
const names = new Map<number, readonly string[]>();

interface OpenFile {
  readonly path: string;
  readonly fd: number;
  /** Rows in the file. */
  rows: number;
  /** Rows that could not be made into a line (and are lost). */
  dropped: number;
  /** Lines whose append failed (a full disk): appended again before the next ones, and at `write`. */
  backlog: { text: string; rows: number }[];
}

const files = new Map<string, OpenFile>();
/** Rows of a deployment whose file could not be opened (and are lost), until its next `write`. */
const unfiled = new Map<string, number>();

const namesOf = (id: number) => {
  const list = names.get(id);
  if (!list) throw new Error(`feature-name list ${id} was never sent`);
  return list;
};

function fileOf(deployment: string): OpenFile {
  let file = files.get(deployment);
  if (!file) {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `prediction-log-${randomUUID()}.tsv`);
    const fd = openSync(path, 'w');
    writeSync(fd, `${TSV_HEADER}\n`);
    file = { path, fd, rows: 0, dropped: 0, backlog: [] };
    files.set(deployment, file);
  }
  return file;
}

/** Appends the backlog, then `text`; what cannot be appended stays in the backlog. */
function append(file: OpenFile, text: string, rows: number): void {
  if (rows > 0) file.backlog.push({ text, rows });
  while (file.backlog.length > 0) {
    const next = file.backlog[0]!;
    writeSync(file.fd, next.text);
    file.backlog.shift();
    file.rows += next.rows;
  }
}

function handle(request: WriterRequest): WriterReply | null {
  switch (request.op) {
    case 'names':
      names.set(request.names, request.list);
      return null;
    case 'rows': {
      let file: OpenFile;
      try {
        file = fileOf(request.deployment);
      } catch {
        // No file to write to (the temporary folder cannot be written): the thread goes on, and
        // the next write reports these rows as dropped.
        unfiled.set(request.deployment, (unfiled.get(request.deployment) ?? 0) + request.rows.length);
        return null;
      }
      let text = '';
      let rows = 0;
      for (const row of request.rows) {
        try {
          text += `${tsvLine(row, namesOf)}\n`;
          rows++;
        } catch {
          file.dropped++;
        }
      }
      try {
        append(file, text, rows);
      } catch {
        // kept in the backlog: tried again with the next rows and at `write`
      }
      return null;
    }
    case 'write': {
      const file = files.get(request.deployment);
      const lost = unfiled.get(request.deployment) ?? 0;
      unfiled.delete(request.deployment);
      if (!file) return { id: request.id, path: null, rows: 0, dropped: lost };
      try {
        append(file, '', 0);
      } catch (error) {
        return { id: request.id, path: null, rows: 0, dropped: lost, error: error instanceof Error ? error.message : String(error) };
      }
      closeSync(file.fd);
      files.delete(request.deployment);
      return { id: request.id, path: file.rows > 0 ? file.path : null, rows: file.rows, dropped: file.dropped + lost };
    }
  }
}

port.on('message', (request: WriterRequest) => {
  const reply = handle(request);
  if (reply) port.postMessage(reply);
});
