import { z } from 'zod';
import { DomainError, NotFoundError, ValidationError, issueMessage } from '../../errors.ts';
import type { CreateTrainingDatasetInput } from '../../services/feature-view/training-dataset.service.ts';
import type { JobType } from '../job-type.ts';
import { isoTime, objectRef } from './refs.ts';

const TIMES = ['trainStart', 'trainEnd', 'validationStart', 'validationEnd', 'testStart', 'testEnd', 'startTime', 'endTime'] as const;

/**
 * The view and the `CreateTrainingDatasetInput` fields, times as ISO strings (configs are JSON).
 * Loose, so configs stored before the fields were typed still run; `check` refuses unknown keys
 * in new ones.
 */
// 0 parses (configs stored before it was refused still run); `check` refuses it in new ones.
const fraction = z.number().min(0, 'must be between 0 and 1 (exclusive)').lt(1, 'must be between 0 and 1 (exclusive)');
const config = z.looseObject({
  featureView: objectRef,
  description: z.string().max(10_000).nullish(),
  split: z.enum(['NONE', 'RANDOM', 'TIME_SERIES']).nullish(),
  testSize: fraction.nullish(),
  validationSize: fraction.nullish(),
  seed: z.number().int().nullish(),
  trainStart: isoTime.nullish(),
  trainEnd: isoTime.nullish(),
  validationStart: isoTime.nullish(),
  validationEnd: isoTime.nullish(),
  testStart: isoTime.nullish(),
  testEnd: isoTime.nullish(),
  startTime: isoTime.nullish(),
  endTime: isoTime.nullish(),
  format: z.enum(['PARQUET', 'CSV']).nullish(),
});

type Config = z.output<typeof config>;
const KNOWN = new Set(['featureView', 'description', 'split', 'testSize', 'validationSize', 'seed', ...TIMES, 'format']);

/** The training-dataset service's input from a config: times as dates, unknown keys dropped. */
function datasetInput(c: Config): CreateTrainingDatasetInput {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(c)) {
    if (key === 'featureView' || !KNOWN.has(key) || value == null) continue;
    input[key] = (TIMES as readonly string[]).includes(key) ? new Date(value as string) : value;
  }
  return input as CreateTrainingDatasetInput;
}

/**
 * TRAINING_DATASET: creates a version of a feature view's training dataset. The config holds the
 * view and the `CreateTrainingDatasetInput` fields (split, sizes, seed, windows, format); they are
 * checked against the view when the job is created, and again by the service when the job runs.
 */
export const trainingDataset: JobType<typeof config> = {
  name: 'TRAINING_DATASET',
  description:
    'Creates a training dataset version of a feature view: config `{ featureView: { name, version }, split, testSize, validationSize, seed, trainStart, …, format }` (the fields of `createTrainingDataset`, times as ISO 8601).',
  config,
  scope: 'WRITE',
  resumable: false,
  async check(c, ctx) {
    const unknown = Object.keys(c).filter((k) => !KNOWN.has(k));
    if (unknown.length > 0) {
      throw new ValidationError(
        `unknown config fields: ${unknown.join(', ')}`,
        unknown.map((k) => ({ path: [k], message: `unknown field; known: ${[...KNOWN].join(', ')}` })),
      );
    }
    for (const key of ['testSize', 'validationSize'] as const) {
      if (c[key] === 0) throw ValidationError.at([key], 'must be between 0 and 1 (exclusive); omit it for no such split');
    }
    try {
      await ctx.trainingDatasets.check(ctx.viewer, c.featureView, datasetInput(c));
    } catch (error) {
      if (error instanceof NotFoundError) throw ValidationError.at(['featureView'], `${error.message} in this project`);
      // The service names its own input (`input.testSize`): the same field of the config.
      if (error instanceof ValidationError) {
        throw new ValidationError(
          error.message,
          error.issues.map((i) => ({ path: i.path[0] === 'input' ? i.path.slice(1) : i.path, message: issueMessage(i) })),
        );
      }
      if (error instanceof DomainError) throw ValidationError.at([], error.message);
      throw error;
    }
  },
  async run(ctx) {
    const { featureView } = ctx.config;
    ctx.log(`creating a training dataset of feature view ${featureView.name}${featureView.version ? ` version ${featureView.version}` : ''}`);
    await ctx.progress(0, 'materializing');
    const dataset = await ctx.services.trainingDatasets.create(ctx.viewer, featureView, datasetInput(ctx.config));
    ctx.log(`created training dataset version ${dataset.version}`);
    await ctx.progress(1, `training dataset version ${dataset.version}`);
  },
};
