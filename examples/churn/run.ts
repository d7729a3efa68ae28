/**
 * `npm run quickstart`: the churn tutorial end to end. Starts an embedded Granary on a temporary
 * data directory (unless GRANARY_URL and GRANARY_API_KEY point at a running server), then runs
 * the feature, training, inference and deployment pipelines, and ends with the GraphiQL URL and
 * queries to paste there.
 *
 *   npm run quickstart [-- --customers N] [-- --serve]
 *
 * `--serve` keeps the embedded server running afterwards (Ctrl-C stops it).
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GranaryClient, type Model } from 'granary/client';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { adminKeyPath } from '../../src/serve.ts';
import { createGranaryServer, GRAPHQL_PATH } from '../../src/server.ts';
import { generateChurnData, TELCO_CUSTOMERS } from './data.ts';
import { CHURN_FEATURE_VIEW, CUSTOMER_INFO, DEPLOYMENT_NAME } from './definitions.ts';
import { runDeploymentPipeline } from './deployment-pipeline.ts';
import { runFeaturePipeline, type PipelineContext } from './feature-pipeline.ts';
import { runInferencePipeline } from './inference-pipeline.ts';
import { runTrainingPipeline } from './training-pipeline.ts';

interface Target {
  readonly client: GranaryClient;
  /** The base URL of the server (`http://127.0.0.1:port`). */
  readonly url: string;
  /** The embedded server's data directory; undefined for a remote server. */
  readonly dataDir?: string;
  close(): Promise<void>;
}

/** An embedded server on a fresh data directory, listening on a free loopback port. */
async function embeddedServer(): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'granary-quickstart-'));
  // Only what the embedded server needs: a DATABASE_URL or Redis URL in the caller's environment must not leak in.
  const config = loadConfig({ GRANARY_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const app = await createApp(config, { migrate: true });
  const secret = await app.services.projects.bootstrap();
  if (!secret) throw new Error(`${dataDir} already had a project`);
  writeFileSync(adminKeyPath(dataDir), `${secret}\n`, { mode: 0o600 });
  chmodSync(adminKeyPath(dataDir), 0o600);
  const server = createGranaryServer(app);
  const url = await server.listen(0, '127.0.0.1');
  return { client: new GranaryClient({ url, apiKey: secret }), url, dataDir, close: () => server.close(1000) };
}

/** Queries to paste into GraphiQL, about what the pipelines made; a predict query when a customer is given. */
export async function pasteQueries(client: GranaryClient, model: Model, customerid?: string): Promise<{ title: string; query: string }[]> {
  const trainingDataset = model.trainingDataset?.version ?? 1;
  const view = model.featureView ?? { name: CHURN_FEATURE_VIEW.name, version: 1 };
  const lineage = (await client.hasField('Query', 'lineage'))
    ? {
        title: `Lineage of ${model.name} v${model.version}: the training dataset, feature view and feature groups it came from`,
        query: `{
  lineage(id: "${model.id}") {
    nodes { id kind name version }
    edges { from to }
  }
}`,
      }
    : {
        title: `${model.name} v${model.version} with the feature view and training dataset it was trained from`,
        query: `{
  model(name: "${model.name}", version: ${model.version}) {
    name version metrics modelSchema
    files { path size downloadUrl }
    featureView { name version labels featureGroups { name version } transformations { outputColumn } }
    trainingDataset { version }
  }
}`,
      };
  return [
    lineage,
    {
      title: `The data of ${CUSTOMER_INFO.name}: its commits and first rows`,
      query: `{
  featureGroup(name: "${CUSTOMER_INFO.name}") {
    name version rowCount
    commits { id committedAt rowsInserted rowsUpdated }
    read(first: 10) { records }
    downloadUrl(format: CSV)
  }
}`,
    },
    {
      title: `The splits of training dataset v${trainingDataset} of ${view.name}`,
      query: `{
  trainingDataset(featureView: { name: "${view.name}", version: ${view.version} }, version: ${trainingDataset}) {
    version split
    splits { name rowCount data(first: 5) { records } }
    transformationStatistics
  }
}`,
    },
    ...(customerid
      ? [
          {
            title: `A prediction of ${DEPLOYMENT_NAME} for one customer, with the vector the model scored`,
            query: `{
  predict(deployment: "${DEPLOYMENT_NAME}", entries: [{ customerid: "${customerid}" }], options: { includeVector: true }) {
    requestId
    predictions { prediction probabilities modelVersion vector { features values } }
  }
}`,
          },
        ]
      : []),
  ];
}

const rule = (title: string) => `\n── ${title} ${'─'.repeat(Math.max(3, 76 - title.length))}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      customers: { type: 'string', default: String(TELCO_CUSTOMERS) },
      seed: { type: 'string', default: '42' },
      serve: { type: 'boolean', default: false },
    },
  });
  const customers = Number(values.customers);
  const seed = Number(values.seed);
  if (!Number.isInteger(customers) || customers < 50) throw new Error('--customers must be an integer of at least 50');
  const started = Date.now();

  const remote = process.env.GRANARY_URL && process.env.GRANARY_API_KEY;
  const target: Target = remote
    ? { client: GranaryClient.fromEnv(), url: new URL(process.env.GRANARY_URL!).origin, close: async () => {} }
    : await embeddedServer();
  const { client } = target;
  const viewer = await client.viewer();
  console.log(
    remote
      ? `Granary at ${target.url} (project ${viewer.project.name}, from GRANARY_URL and GRANARY_API_KEY)`
      : `Started an embedded Granary at ${target.url} on ${target.dataDir} (project ${viewer.project.name})`,
  );

  // Uploads, model files and downloads: beside the embedded server's data, or a temporary folder.
  const workDir = target.dataDir ? join(target.dataDir, 'quickstart') : mkdtempSync(join(tmpdir(), 'granary-churn-'));
  mkdirSync(workDir, { recursive: true });
  const ctx: PipelineContext = { client, workDir, log: (line) => console.log(line) };
  const step = async <T>(title: string, run: () => Promise<T>): Promise<T> => {
    console.log(rule(title));
    const t0 = Date.now();
    const result = await run();
    console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return result;
  };

  try {
    const data = generateChurnData({ customers, seed });
    console.log(`Generated ${customers} synthetic customers (seed ${seed}; columns of the Telco Customer Churn data)`);
    await step('1. Feature pipeline (examples/churn/feature-pipeline.ts)', () => runFeaturePipeline(ctx, data));
    const training = await step('2. Training pipeline (examples/churn/training-pipeline.ts)', () => runTrainingPipeline(ctx));
    const inference = await step('3. Inference pipeline (examples/churn/inference-pipeline.ts)', () => runInferencePipeline(ctx));
    const customerids = inference.predictions.slice(0, 2).map((p) => p.customerid);
    await step('4. Deployment (examples/churn/deployment-pipeline.ts)', () => runDeploymentPipeline(ctx, inference.model, customerids));

    console.log(rule('Explore'));
    console.log(`ROC AUC of ${training.model.name} v${training.model.version} on the test split: ${training.evaluation.roc_auc.toFixed(4)}`);
    console.log(`Best version by roc_auc: v${inference.model.version}. Files written under ${workDir}`);
    const graphiql = values.serve || remote ? `${target.url}${GRAPHQL_PATH}` : `http://127.0.0.1:4000${GRAPHQL_PATH}`;
    if (target.dataDir && !values.serve) {
      console.log(`\nThe data stays in ${target.dataDir}. To explore it in GraphiQL, serve it:`);
      console.log(`  GRANARY_DATA_DIR=${target.dataDir} npm start`);
      console.log(
        `and open ${graphiql}#key=<the admin key in ${adminKeyPath(target.dataDir)}> (the key stays in the URL's fragment, never sent to the server).`,
      );
    } else {
      console.log(
        `\nOpen GraphiQL at ${graphiql}#key=<${target.dataDir ? `the admin key in ${adminKeyPath(target.dataDir)}` : 'your API key'}> (the key stays in the URL's fragment, never sent to the server).`,
      );
    }
    console.log('Queries to paste:');
    for (const { title, query } of await pasteQueries(client, inference.model, customerids[0])) console.log(`\n# ${title}\n${query}`);
    console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);

    if (values.serve && target.dataDir) {
      console.log(`\nServing at ${target.url}${GRAPHQL_PATH} until Ctrl-C.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await client.close();
    await target.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  });
}
