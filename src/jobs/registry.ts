import { ValidationError } from '../errors.ts';
import type { JobType } from './job-type.ts';
import { command } from './types/command.ts';
import { materialize } from './types/materialize.ts';
import { trainingDataset } from './types/training-dataset.ts';

/** The built-in job types. A new type is one import and one entry here. */
export const BUILT_IN_JOB_TYPES: readonly JobType[] = [materialize, trainingDataset, command];

/** Job types by name: what `createJob(type:)` accepts and what the runner calls. */
export class JobTypeRegistry {
  private readonly byName = new Map<string, JobType>();

  constructor(types: readonly JobType[] = BUILT_IN_JOB_TYPES) {
    for (const type of types) {
      if (this.byName.has(type.name)) throw new Error(`job type ${type.name} is registered twice`);
      this.byName.set(type.name, type);
    }
  }

  /** Every type, by name. */
  list(): JobType[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string): JobType | undefined {
    return this.byName.get(name);
  }

  /** The type of that name, or a ValidationError at `path` listing the known ones. */
  get(name: string, path: readonly (string | number)[] = ['input', 'type']): JobType {
    const type = this.byName.get(name);
    if (!type) throw ValidationError.at(path, `unknown job type ${name}; known: ${[...this.byName.keys()].sort().join(', ')}`);
    return type;
  }
}
