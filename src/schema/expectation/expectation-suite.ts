import type { ExpectationSuite } from '../../generated/sqlite/client.ts';
import { DataSourceError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Expectation } from '../../engine/validation/expectations.ts';
import { EXPECTATION_TYPES } from '../../engine/validation/expectations.ts';
import { builder } from '../builder.ts';
import { FeatureGroupRefInput } from '../feature-group/types.ts';
import { readExpectations } from '../../services/json-columns.ts';

export const IngestionPolicyEnum = builder.enumType('IngestionPolicy', {
  description: 'What an insert that breaks the expectation suite does.',
  values: {
    STRICT: { description: 'Rejected with a DataValidationError carrying the report; nothing is written.' },
    ALWAYS: { description: 'Committed anyway, with the failing report stored on the commit.' },
  } as const,
});

const ExpectationRef = builder.objectRef<Expectation>('Expectation').implement({
  description: 'One expectation of a suite, named and parameterized as in Great Expectations.',
  fields: (t) => ({
    type: t.exposeString('type', { description: `Expectation type: ${EXPECTATION_TYPES.join(', ')}.` }),
    kwargs: t.field({
      type: 'JSON',
      description: 'Its arguments (snake_case, e.g. `{ "column": "tenure", "min_value": 0, "mostly": 0.95 }`).',
      resolve: (e) => e.kwargs,
    }),
  }),
});

export const ExpectationSuiteType = builder.prismaObject('ExpectationSuite', {
  description: 'The expectation suite of a feature group version: checked on every insert before it is committed.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Suite name.' }),
    ingestionPolicy: t.field({
      type: IngestionPolicyEnum,
      description: 'STRICT (a failing insert is rejected) or ALWAYS (committed with its report).',
      resolve: (s) => s.ingestionPolicy as 'STRICT' | 'ALWAYS',
    }),
    expectations: t.field({
      type: [ExpectationRef],
      description: 'The expectations, in evaluation (and report) order.',
      resolve: (s) => readExpectations(s.expectations),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the group first got a suite.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the suite was last saved.' }),
  }),
});

builder.prismaObjectField('FeatureGroup', 'expectationSuite', (t) =>
  t.relation('expectationSuite', {
    nullable: true,
    description: 'The expectation suite inserts are validated against; null when there is none.',
  }),
);

const ExpectationInput = builder.inputType('ExpectationInput', {
  description: 'One expectation: a Great Expectations type and its kwargs.',
  fields: (t) => ({
    type: t.string({ required: true, description: `Expectation type: ${EXPECTATION_TYPES.join(', ')}.` }),
    kwargs: t.field({
      type: 'JSON',
      required: true,
      description:
        'Arguments, as in Great Expectations: `column` (all but the table row count), `mostly` (0–1, per-value expectations: the fraction of non-null values that must pass), `min_value`/`max_value` with `strict_min`/`strict_max`, `value_set`, `regex` (RE2 syntax, matched anywhere in the value).',
    }),
  }),
});

const SaveExpectationSuiteInput = builder.inputType('SaveExpectationSuiteInput', {
  description: 'An expectation suite; it replaces the group’s current one.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Suite name.' }),
    ingestionPolicy: t.field({ type: IngestionPolicyEnum, required: true, description: 'What an insert that breaks the suite does.' }),
    expectations: t.field({ type: [ExpectationInput], required: true, description: 'The expectations, evaluated in this order.' }),
  }),
});

const SaveExpectationSuitePayload = builder.objectRef<{ expectationSuite: ExpectationSuite }>('SaveExpectationSuitePayload').implement({
  description: 'The saved expectation suite.',
  fields: (t) => ({
    expectationSuite: t.field({ type: ExpectationSuiteType, description: 'The suite as stored.', resolve: (p) => p.expectationSuite }),
  }),
});

builder.mutationField('saveExpectationSuite', (t) =>
  t.field({
    type: SaveExpectationSuitePayload,
    description:
      'Saves the expectation suite of a feature group version, replacing any previous one. Every expectation is checked (type, kwargs, and columns against the group’s schema when it is known); a bad one is a ValidationError naming its index and kwarg, and nothing is saved.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }),
      input: t.arg({ type: SaveExpectationSuiteInput, required: true, description: 'The suite.' }),
    },
    resolve: async (_root, args, ctx) => ({
      expectationSuite: await ctx.services.expectationSuites.save(ctx.viewer, args.featureGroup, args.input),
    }),
  }),
);

const DeleteExpectationSuitePayload = builder.objectRef<ExpectationSuite>('DeleteExpectationSuitePayload').implement({
  description: 'The deleted expectation suite.',
  fields: (t) => ({ name: t.exposeString('name', { description: 'Name of the deleted suite.' }) }),
});

builder.mutationField('deleteExpectationSuite', (t) =>
  t.field({
    type: DeleteExpectationSuitePayload,
    description: 'Deletes the expectation suite of a feature group version; its inserts are no longer validated.',
    authScopes: { write: true },
    errors: { types: [NotFoundError] },
    args: { featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }) },
    resolve: (_root, args, ctx) => ctx.services.expectationSuites.delete(ctx.viewer, args.featureGroup),
  }),
);

const ValidateFeatureGroupPayload = builder.objectRef<{ validationReport: unknown }>('ValidateFeatureGroupPayload').implement({
  description: 'The validation report of the group’s rows now.',
  fields: (t) => ({
    validationReport: t.field({
      type: 'JSON',
      description: 'The report, shaped like a Great Expectations result (as an insert’s `validationReport`).',
      resolve: (p) => p.validationReport,
    }),
  }),
});

builder.mutationField('validateFeatureGroup', (t) =>
  t.field({
    type: ValidateFeatureGroupPayload,
    description:
      'Validates a feature group’s rows now against its expectation suite and returns the report; nothing is stored. For an external group, the rows its data source holds (the way to validate data that is never inserted).',
    authScopes: { write: true },
    errors: { types: [NotFoundError, DataSourceError] },
    args: { featureGroup: t.arg({ type: FeatureGroupRefInput, required: true, description: 'The group; the latest version when omitted.' }) },
    resolve: async (_root, args, ctx) => ({ validationReport: await ctx.services.expectationSuites.validateGroup(ctx.viewer, args.featureGroup) }),
  }),
);
