import { z } from 'zod';
import type { JobType } from '../job-type.ts';
import { objectRef } from './refs.ts';

const config = z.looseObject({ featureView: objectRef });

/**
 * TRAINING_DATASET: creates a version of a feature view's training dataset. The config holds the
 * view and the `CreateTrainingDatasetInput` fields (split, sizes, seed, windows, format), which
 * the training-dataset service validates when the job runs.
 */
export const trainingDataset: JobType<typeof config> = {
  name: 'TRAINING_DATASET',
  description: 'Creates a training dataset version of a feature view: config `{ featureView: { name, version }, split, testSize, seed, … }`.',
  config,
  scope: 'WRITE',
  resumable: false,
  async run(ctx) {
    const { featureView, ...input } = ctx.config;
    ctx.log(`creating a training dataset of feature view ${featureView.name}${featureView.version ? ` version ${featureView.version}` : ''}`);
    await ctx.progress(0, 'materializing');
    const dataset = await ctx.services.trainingDatasets.create(ctx.viewer, featureView, input as never);
    ctx.log(`created training dataset version ${dataset.version}`);
    await ctx.progress(1, `training dataset version ${dataset.version}`);
  },
};
