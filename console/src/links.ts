// Where the console shows each kind of object: one place, so search results, recent changes and
// lineage all link to the same pages.

/** Kinds of objects the API names in search results and lineage. */
export type ObjectKind = 'FEATURE_GROUP' | 'FEATURE_VIEW' | 'TRAINING_DATASET' | 'MODEL' | 'DEPLOYMENT' | 'JOB' | 'DATA_SOURCE';

export const KIND_LABELS: Readonly<Record<ObjectKind, string>> = {
  FEATURE_GROUP: 'Feature group',
  FEATURE_VIEW: 'Feature view',
  TRAINING_DATASET: 'Training dataset',
  MODEL: 'Model',
  DEPLOYMENT: 'Deployment',
  JOB: 'Job',
  DATA_SOURCE: 'Data source',
};

/** The kind of a registry event's type name (`FeatureGroup` → FEATURE_GROUP); null for kinds without pages of their own. */
export function kindOfTypename(typename: string): ObjectKind | null {
  const kind = typename.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return kind in KIND_LABELS ? (kind as ObjectKind) : null;
}

/**
 * The console's page of an object; null when it has none (data sources). A training dataset is
 * named `<view>_<view version>` and shown on its view's Training data tab; a job and a deployment
 * have no version.
 */
export function objectHref(kind: ObjectKind, name: string, version: number | null): string | null {
  const v = version === null ? '' : `?version=${version}`;
  switch (kind) {
    case 'FEATURE_GROUP':
      return `/feature-groups/${name}/overview${v}`;
    case 'FEATURE_VIEW':
      return `/feature-views/${name}/overview${v}`;
    case 'MODEL':
      return `/models/${name}${v}`;
    case 'DEPLOYMENT':
      return `/deployments/${name}`;
    case 'JOB':
      return `/jobs/${name}`;
    case 'TRAINING_DATASET': {
      const view = /^(.+)_(\d+)$/.exec(name);
      if (!view) return null;
      return `/feature-views/${view[1]}/training-data?version=${view[2]}${version === null ? '' : `&td=${version}`}`;
    }
    default:
      return null;
  }
}

/** The page of a training dataset version of a view. */
export function trainingDatasetHref(view: { name: string; version: number }, version: number): string {
  return `/feature-views/${view.name}/training-data?version=${view.version}&td=${version}`;
}
