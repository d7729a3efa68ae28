import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import { recoverAbandoned } from './recovery.ts';
import type { Logger } from './logger.ts';
import { consoleSignInUrl, createGranaryServer, GRAPHQL_PATH, graphiqlSignInUrl, type GranaryServer } from './server.ts';

/** Where the first-start admin key is written (mode 0600). */
export function adminKeyPath(dataDir: string): string {
  return join(dataDir, 'admin.key');
}

/**
 * Runs the server until SIGTERM or SIGINT: migrates, creates the default project and its admin
 * key on first start, listens, then on a signal stops accepting, drains and closes the stores.
 */
export async function serve(config: Config): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  const app = await createApp(config, { migrate: true });
  const { logger } = app;
  const keyFile = adminKeyPath(config.dataDir);
  // Clean up after killed predecessors before anyone reads (stray uploads, uncommitted files,
  // online rows of durable commits that were not written yet), sparing live processes' work.
  await recoverAbandoned(app);
  // And after any process that dies later (its lease expires), while this one serves.
  app.services.processes.watch(() => recoverAbandoned(app));
  // Runs of a killed predecessor: failed with a log line saying why, or resumed from their checkpoint.
  const executions = await app.services.jobs.recover();
  if (executions.failed > 0 || executions.resumed > 0) logger.info(executions, 'recovered job executions of a stopped process');
  // Objects from before search (or indexed by an older tokenizer) become searchable.
  const indexed = await app.services.search.reindex();
  if (indexed > 0) logger.info({ indexed }, 'built search documents');
  // Deliveries left PENDING by a predecessor (or another process) are sent again.
  app.services.alerts.start();
  const secret = await app.services.projects.bootstrap();
  if (secret) {
    writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
  }
  const server = createGranaryServer(app);
  const url = await server.listen();
  logger.info({ url: `${url}${GRAPHQL_PATH}` }, 'granary listening');
  printWelcome(config, url, keyFile, secret);
  await untilSignal(server, logger);
}

/** Where GraphQL is served, how to authenticate, and how to sign in to the console and GraphiQL (when on). */
function printWelcome(config: Config, url: string, keyFile: string, secret: string | undefined): void {
  process.stdout.write(
    `Granary is serving GraphQL at ${url}${GRAPHQL_PATH}` +
      (config.graphiql ? ` (GraphiQL: open it in a browser)` : '') +
      `\nAuthenticate with: Authorization: Bearer $(cat ${keyFile})\n`,
  );
  // The key is printed on the first start only (the file keeps it for the operator), once: inside
  // the console's address when the console is on. In a URL it goes only into the fragment, which
  // the browser never sends. Later starts print it only to a terminal, never into a log file.
  if (secret && !config.console) {
    process.stdout.write(`\nCreated project "default" and its admin API key (written to ${keyFile}, mode 0600):\n\n  ${secret}\n\n`);
  }
  if (secret && config.console) {
    process.stdout.write(
      `\nCreated project "default" and its admin API key (written to ${keyFile}, mode 0600).\n` +
        `Open the console signed in with it: ${consoleSignInUrl(url, secret)}\n\n`,
    );
  }
  if (!config.graphiql && !config.console) return;
  const adminKey = secret ?? (process.stdout.isTTY && existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  if (config.console && !secret) {
    process.stdout.write(
      adminKey
        ? `Open the console with the admin key: ${consoleSignInUrl(url, adminKey)}\n`
        : `Open the console: ${url}/ and sign in with an API key (the admin key is in ${keyFile})\n`,
    );
  }
  if (config.graphiql) {
    process.stdout.write(
      adminKey
        ? `Sign in to GraphiQL with the admin key: ${graphiqlSignInUrl(url, adminKey)}\n`
        : `Sign in to GraphiQL: open ${url}${GRAPHQL_PATH}#key=<your API key> (the admin key is in ${keyFile})\n`,
    );
  }
}

/** Resolves once the server has stopped after the first SIGTERM or SIGINT. */
function untilSignal(server: GranaryServer, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      // Runs of this process finish within the grace period or are killed, each recorded, before
      // the database closes: none is left for another process to fail.
      server
        .close(undefined, signal)
        .catch((error: unknown) => logger.error({ err: error }, 'error while shutting down'))
        .finally(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
