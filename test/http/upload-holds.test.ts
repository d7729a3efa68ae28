import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GraphQLScalarType } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiskFile } from '../../src/domain/disk-file.ts';
import { useDiskUploads } from '../../src/http/uploads.ts';

// A resolver reads an upload by its path without claiming it: the upload layer keeps the file
// until the operation has executed, even when the client goes away meanwhile, and removes it then.

const BOUNDARY = 'granary-hold-boundary-51c0';

let release!: () => void;
let started!: (path: string) => void;
let seen: { beforeAbort: string; afterAbort: boolean } | undefined;

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    scalar File
    type Query {
      hello: String!
    }
    type Mutation {
      slowRead(file: File!): String!
    }
  `,
  resolvers: {
    File: new GraphQLScalarType({ name: 'File', parseValue: (value) => value, serialize: () => null }),
    Query: { hello: () => 'world' },
    Mutation: {
      slowRead: async (_: unknown, { file }: { file: DiskFile }) => {
        const beforeAbort = readFileSync(file.path, 'utf8');
        const gate = new Promise<void>((resolve) => (release = resolve));
        started(file.path);
        await gate;
        seen = { beforeAbort, afterAbort: existsSync(file.path) };
        return beforeAbort;
      },
    },
  },
});

describe('uploads held while their operation executes', () => {
  let http: Server;
  let port: number;
  let tempDir: string;

  beforeAll(async () => {
    tempDir = join(mkdtempSync(join(tmpdir(), 'granary-holds-')), 'tmp');
    const yoga = createYoga({
      schema,
      logging: false,
      maxRequestBodySize: false,
      plugins: [useDiskUploads({ tempDir, maxFileBytes: 1024 * 1024, maxFiles: 2 })],
    });
    http = createServer(yoga);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    port = (http.address() as { port: number }).port;
  });

  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    rmSync(join(tempDir, '..'), { recursive: true, force: true });
  });

  it('keeps a file its resolver reads after the client disconnected, and removes it once the resolver is done', async () => {
    const operations = JSON.stringify({ query: 'mutation($f: File!) { slowRead(file: $f) }', variables: { f: null } });
    const body =
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n${JSON.stringify({ 0: ['variables.f'] })}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="rows.csv"\r\nContent-Type: text/csv\r\n\r\n` +
      `k,v\n1,2\n\r\n--${BOUNDARY}--\r\n`;
    const resolverStarted = new Promise<string>((resolve) => (started = resolve));
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const path = await resolverStarted;
    socket.destroy();
    // The request is over for the server; the resolver still holds the file.
    await sleep(200);
    expect(existsSync(path)).toBe(true);
    release();
    const deadline = Date.now() + 2000;
    while (existsSync(path) && Date.now() < deadline) await sleep(10);
    expect(seen).toEqual({ beforeAbort: 'k,v\n1,2\n', afterAbort: true });
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(tempDir)).toEqual([]);
  });
});
