import { builder } from '../builder.ts';
import { FeatureGroupRefInput } from '../feature-group/types.ts';

export const FeatureViewRefInput = builder.inputType('FeatureViewRef', {
  description: 'A feature view by name and version; the latest version when version is omitted.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'View name.' }),
    version: t.int({ description: 'Version; latest when omitted.' }),
  }),
});

export const JoinTypeEnum = builder.enumType('JoinType', {
  description: 'How a joined group’s rows combine with the left group’s.',
  values: {
    LEFT: { description: 'Keep every left row; features of a missing match are null.' },
    INNER: { description: 'Keep only left rows with a match.' },
  } as const,
});

export const FilterOpEnum = builder.enumType('FilterOp', {
  description: 'Comparison of a filter.',
  values: {
    EQ: { description: 'Equal.' },
    NE: { description: 'Not equal.' },
    LT: { description: 'Less than.' },
    LE: { description: 'Less than or equal.' },
    GT: { description: 'Greater than.' },
    GE: { description: 'Greater than or equal.' },
    IN: { description: 'One of a list (value is a JSON array).' },
    LIKE: { description: 'SQL LIKE pattern on a string (`%` any run, `_` one character).' },
  } as const,
});

const JoinInput = builder.inputType('FeatureViewJoinInput', {
  description: 'A feature group joined to the left group on keys, point in time on event time.',
  fields: (t) => ({
    featureGroup: t.field({ type: FeatureGroupRefInput, required: true, description: 'The joined group.' }),
    features: t.stringList({ description: 'Features to select (all when omitted).' }),
    exceptFeatures: t.stringList({ description: 'Features to leave out (select_except).' }),
    on: t.stringList({ description: 'Key features with the same name on both sides. Default: the joined group’s primary key.' }),
    leftOn: t.stringList({ description: 'Left group features to join on, paired with rightOn.' }),
    rightOn: t.stringList({ description: 'Joined group features to join on, paired with leftOn.' }),
    type: t.field({ type: JoinTypeEnum, description: 'LEFT (default) or INNER.' }),
    prefix: t.string({ description: 'Prefix for this group’s output names, to resolve clashes.' }),
  }),
});

const FilterInput = builder.inputType('FeatureViewFilterInput', {
  description: 'A row filter on an output feature.',
  fields: (t) => ({
    feature: t.string({ required: true, description: 'Output feature name.' }),
    op: t.field({ type: FilterOpEnum, required: true, description: 'Comparison.' }),
    value: t.field({ type: 'JSON', required: true, description: 'Value to compare with (a list for IN).' }),
  }),
});

export const FeatureViewQueryInput = builder.inputType('FeatureViewQueryInput', {
  description: 'What a view reads: a left group (usually holding the labels) and groups joined to it.',
  fields: (t) => ({
    featureGroup: t.field({ type: FeatureGroupRefInput, required: true, description: 'The left group.' }),
    features: t.stringList({ description: 'Features to select (all when omitted).' }),
    exceptFeatures: t.stringList({ description: 'Features to leave out (select_except).' }),
    joins: t.field({ type: [JoinInput], description: 'Groups joined to the left group, in order.' }),
    filters: t.field({ type: [FilterInput], description: 'Row filters, all of which must hold.' }),
  }),
});

export const TransformationInput = builder.inputType('TransformationInput', {
  description: 'A transformation function attached to a feature of the view.',
  fields: (t) => ({
    function: t.string({ required: true, description: 'Function name, e.g. min_max_scaler or label_encoder (see transformationFunctions).' }),
    feature: t.string({ required: true, description: 'Output feature it applies to.' }),
    args: t.field({ type: 'JSON', description: 'Arguments of functions that take them (e.g. impute_constant’s value, bins).' }),
  }),
});

export const CreateFeatureViewInput = builder.inputType('CreateFeatureViewInput', {
  description: 'A feature view definition. The same definition again returns the existing view.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Lower-case name: letters, digits and _.' }),
    version: t.int({ description: 'Version. Omitted: the latest version if its definition matches, else the next one.' }),
    description: t.string({ description: 'What the view is for.' }),
    labels: t.stringList({ description: 'Output features that are labels (targets); they must be selected.' }),
    query: t.field({ type: FeatureViewQueryInput, required: true, description: 'What the view reads.' }),
    transformations: t.field({ type: [TransformationInput], description: 'Transformation functions, fitted per training dataset.' }),
  }),
});
