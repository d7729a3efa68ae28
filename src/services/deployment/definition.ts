import { z } from 'zod';
import { aliasName, modelName } from '../model/definition.ts';

/** Deployment names: as other object names, short enough that `<name>_predictions` names its log group. */
export const DEPLOYMENT_NAME = /^[a-z][a-z0-9_]{0,50}$/;
const NAME_MESSAGE = 'lower-case letters, digits and _, starting with a letter, at most 51 characters';

/** The feature group a deployment logs its predictions to. */
export const logGroupName = (deployment: string) => `${deployment}_predictions`;

export const deploymentName = z.string().regex(DEPLOYMENT_NAME, NAME_MESSAGE);

const versionOrAlias = {
  version: z.number().int().min(1, 'versions start at 1').nullish(),
  alias: aliasName.nullish(),
};

const trafficEntry = z
  .strictObject({ ...versionOrAlias, weight: z.number().finite().min(0, 'weights are 0 or more').max(1e6) })
  .refine((e) => (e.version == null) !== (e.alias == null), { message: 'give either version or alias', path: ['version'] });

const loggingInput = z.strictObject({
  enabled: z.boolean(),
  sampleRate: z.number().finite().min(0, 'sampleRate is between 0 and 1').max(1, 'sampleRate is between 0 and 1').nullish(),
});

const trafficInput = z
  .array(trafficEntry)
  .max(10, 'at most 10 traffic entries')
  .refine((t) => t.length === 0 || t.some((e) => e.weight > 0), 'at least one traffic entry needs a weight above 0');

export const createDeploymentInput = z.object({
  name: deploymentName,
  description: z.string().max(10_000).nullish(),
  model: z
    .object({ name: modelName, ...versionOrAlias })
    .refine((m) => m.version == null || m.alias == null, { message: 'give either version or alias, not both', path: ['alias'] }),
  traffic: trafficInput.nullish(),
  shadow: z.strictObject({ version: z.number({ error: 'give the shadow version' }).int().min(1) }).nullish(),
  logging: loggingInput.nullish(),
  /** Start serving at once (default true). */
  start: z.boolean().nullish(),
});
/** The input as the API delivers it: fields are checked when parsed. */
export type CreateDeploymentInput = Omit<z.input<typeof createDeploymentInput>, 'shadow'> & { shadow?: { version?: number | null } | null };

export const updateDeploymentInput = z.object({
  description: z.string().max(10_000).nullish(),
  model: z
    .object({ ...versionOrAlias })
    .refine((m) => (m.version == null) !== (m.alias == null), { message: 'give either version or alias', path: ['version'] })
    .nullish(),
  traffic: trafficInput.nullish(),
  /** `{ version: null }` or an explicit null removes the shadow. */
  shadow: z.strictObject({ version: z.number().int().min(1).nullish() }).nullish(),
  logging: loggingInput.nullish(),
});
export type UpdateDeploymentInput = z.input<typeof updateDeploymentInput>;

/** One traffic entry as stored: a version or an alias of the deployment's model, and its weight. */
export interface TrafficEntry {
  readonly version?: number | null;
  readonly alias?: string | null;
  readonly weight: number;
}

export const predictOptions = z
  .strictObject({
    includeVector: z.boolean().nullish(),
  })
  .nullish();

/** A deployment's traffic as stored, or all of it to the model reference (version or alias) when none is stored. */
export function trafficOf(d: { modelVersion: number | null; modelAlias: string | null; traffic: unknown }): TrafficEntry[] {
  const traffic = Array.isArray(d.traffic) ? (d.traffic as TrafficEntry[]) : [];
  return traffic.length > 0 ? traffic : [{ version: d.modelVersion, alias: d.modelAlias, weight: 1 }];
}
