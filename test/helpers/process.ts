import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DocumentNode } from 'graphql';
import type { SchemaChecked } from '../../src/client/client.ts';
import type { ResultOf } from '../../src/client/graphql.ts';
import { operationText, type GraphQLResult, type TypedDocument, type UntypedData, type VariablesArg } from './server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real `granary serve` process started by a test. */
export interface ServedProcess {
  readonly child: ChildProcess;
  /** Origin the server prints (`http://127.0.0.1:<port>`). */
  readonly url: string;
  readonly exited: Promise<unknown>;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL when still running, then waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Spawns `node bin/granary.js serve` on the given data directory (PORT=0, production mode) with
 * only PATH/HOME/TMPDIR inherited plus `env`, and resolves once it prints where it serves.
 */
export async function spawnServer(dataDir: string, env: Record<string, string> = {}): Promise<ServedProcess> {
  const vars: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR']) if (process.env[name]) vars[name] = process.env[name]!;
  Object.assign(vars, { PORT: '0', HOST: '127.0.0.1', GRANARY_DATA_DIR: dataDir, NODE_ENV: 'production', LOG_LEVEL: 'warn' }, env);
  const child = spawn(process.execPath, ['bin/granary.js', 'serve'], { cwd: ROOT, env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const match = /serving GraphQL at (http:\/\/\S+?)\/graphql/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`exited before serving:\n${out}`)));
  });
  return {
    child,
    url,
    exited,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** POSTs a GraphQL operation to a spawned server with an API key; resolves to the execution result. */
export async function gqlAt<D extends TypedDocument>(
  url: string,
  key: string,
  document: D & SchemaChecked<D>,
  ...variables: VariablesArg<D>
): Promise<GraphQLResult<ResultOf<D>>>;
export async function gqlAt<T = UntypedData>(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResult<T>>;
export async function gqlAt(url: string, key: string, document: string | DocumentNode, variables?: unknown): Promise<GraphQLResult<unknown>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: operationText(document), variables }),
  });
  return (await res.json()) as GraphQLResult<unknown>;
}
