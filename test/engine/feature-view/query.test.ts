import { describe, expect, it } from 'vitest';
import { normalizeViewQuery, viewColumns, type ResolvedGroup, type ViewQueryInput } from '../../../src/engine/feature-view/query.ts';
import type { GroupSchema } from '../../../src/domain/feature-types.ts';
import { ValidationError } from '../../../src/errors.ts';

const features = (spec: Record<string, string>) => Object.entries(spec).map(([name, type]) => ({ name, type, description: '' }));
const group = (name: string, version: number, schema: GroupSchema): ResolvedGroup => ({ group: { name, version }, schema });

const customerInfo = group('customer_info', 1, {
  primaryKey: ['customer_id'],
  eventTime: 'event_time',
  features: features({
    customer_id: 'BIGINT',
    event_time: 'TIMESTAMP',
    tenure: 'BIGINT',
    plan: 'STRING',
    active: 'BOOLEAN',
    tags: 'ARRAY<STRING>',
    region_id: 'STRING',
    store: 'INT',
    signup: 'DATE',
  }),
});
const subscriptionsV1 = group('subscriptions', 1, {
  primaryKey: ['customer_id'],
  eventTime: 'updated_at',
  features: features({ customer_id: 'BIGINT', updated_at: 'TIMESTAMP', tenure: 'BIGINT' }),
});
const subscriptionsV2 = group('subscriptions', 2, {
  primaryKey: ['customer_id'],
  eventTime: 'updated_at',
  features: features({ customer_id: 'BIGINT', updated_at: 'TIMESTAMP', tenure: 'BIGINT', monthly: 'DOUBLE' }),
});
const regions = group('regions', 1, { primaryKey: ['id'], eventTime: null, features: features({ id: 'STRING', name: 'STRING' }) });
const stores = group('stores', 1, { primaryKey: ['store'], eventTime: null, features: features({ store: 'BIGINT', city: 'STRING' }) });
const accounts = group('accounts', 1, { primaryKey: ['customer_id'], eventTime: null, features: features({ customer_id: 'STRING', owner: 'STRING' }) });
const products = group('products', 1, {
  primaryKey: ['customer_id', 'product_id'],
  eventTime: null,
  features: features({ customer_id: 'BIGINT', product_id: 'BIGINT', units: 'INT' }),
});
const all = [customerInfo, subscriptionsV1, subscriptionsV2, regions, stores, accounts, products];

const left = { featureGroup: { name: 'customer_info' } };

function issues(input: ViewQueryInput): { path: readonly (string | number)[]; message: string }[] {
  try {
    normalizeViewQuery(input, all);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).issues];
  }
  throw new Error('expected a ValidationError');
}

/** The single issue of an invalid input. */
function issue(input: ViewQueryInput) {
  const found = issues(input);
  expect(found, JSON.stringify(found)).toHaveLength(1);
  return found[0]!;
}

const at = (...path: (string | number)[]) => ['input', 'query', ...path];

describe('normalizeViewQuery', () => {
  it('resolves defaults: all left features, LEFT joins on the primary key, joined keys and event time left out', () => {
    const query = normalizeViewQuery({ ...left, joins: [{ featureGroup: { name: 'subscriptions' }, prefix: 's_' }] }, all);
    expect(query.left.group).toEqual({ name: 'customer_info', version: 1 });
    expect(query.left.features).toEqual(customerInfo.schema.features.map((f) => f.name));
    expect(query.joins).toEqual([
      {
        group: { name: 'subscriptions', version: 2 },
        schema: subscriptionsV2.schema,
        features: ['tenure', 'monthly'],
        on: [{ left: 'customer_id', right: 'customer_id' }],
        type: 'LEFT',
        prefix: 's_',
      },
    ]);
    expect(query.filters).toEqual([]);
    expect(viewColumns(query).slice(-2)).toEqual([
      { name: 's_tenure', type: 'BIGINT', group: { name: 'subscriptions', version: 2 }, feature: 'tenure' },
      { name: 's_monthly', type: 'DOUBLE', group: { name: 'subscriptions', version: 2 }, feature: 'monthly' },
    ]);
  });

  it('selects features in the given order, exceptFeatures in schema order, and explicit joined keys and event time', () => {
    const query = normalizeViewQuery(
      {
        featureGroup: { name: 'customer_info', version: 1 },
        features: ['plan', 'customer_id'],
        joins: [
          { featureGroup: { name: 'subscriptions', version: 1 }, features: ['updated_at', 'customer_id', 'tenure'], prefix: 'sub_', type: 'INNER' },
          { featureGroup: { name: 'regions' }, leftOn: ['region_id'], rightOn: ['id'], exceptFeatures: [] },
          { featureGroup: { name: 'stores' }, on: null, leftOn: null, rightOn: null }, // store: INT on the left, BIGINT on the right
        ],
      },
      all,
    );
    expect(viewColumns(query).map((c) => c.name)).toEqual(['plan', 'customer_id', 'sub_updated_at', 'sub_customer_id', 'sub_tenure', 'name', 'city']);
    expect(query.joins.map((j) => [j.type, j.on])).toEqual([
      ['INNER', [{ left: 'customer_id', right: 'customer_id' }]],
      ['LEFT', [{ left: 'region_id', right: 'id' }]],
      ['LEFT', [{ left: 'store', right: 'store' }]],
    ]);
    const except = normalizeViewQuery({ ...left, exceptFeatures: ['tags', 'plan'] }, all);
    expect(except.left.features).toEqual(['customer_id', 'event_time', 'tenure', 'active', 'region_id', 'store', 'signup']);
  });

  it('looks groups up through a function and prefixes paths as asked', () => {
    const lookup = (ref: { name: string; version?: number | null }) => all.find((g) => g.group.name === ref.name && g.group.version === (ref.version ?? 1));
    expect(normalizeViewQuery(left, lookup).left.group.version).toBe(1);
    try {
      normalizeViewQuery({ featureGroup: { name: 'nope' } }, lookup, { path: ['query'] });
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).issues).toEqual([{ path: ['query', 'featureGroup'], message: 'feature group nope (latest) not found' }]);
    }
  });

  it('stores filter values canonically', () => {
    const query = normalizeViewQuery(
      {
        ...left,
        joins: [{ featureGroup: { name: 'subscriptions', version: 2 }, prefix: 's_' }],
        filters: [
          { feature: 'event_time', op: 'GE', value: '2024-01-01T02:00:00.5+02:00' },
          { feature: 'event_time', op: 'LT', value: 1_704_067_200 },
          { feature: 'tenure', op: 'IN', value: [1, '9223372036854775807'] },
          { feature: 'plan', op: 'NE', value: null },
          { feature: 's_monthly', op: 'LE', value: 9.5 },
          { feature: 'signup', op: 'EQ', value: '2024-02-29' },
          { feature: 'plan', op: 'LIKE', value: 'go%' },
          { feature: 'active', op: 'EQ', value: false },
        ],
      },
      all,
    );
    expect(query.filters.map((f) => f.value)).toEqual([
      '2024-01-01T00:00:00.500000Z',
      '2024-01-01T00:00:00.000000Z',
      [1, '9223372036854775807'],
      null,
      9.5,
      '2024-02-29',
      'go%',
      false,
    ]);
  });
});

describe('normalizeViewQuery rejects', () => {
  it('an unknown group, left or joined', () => {
    expect(issue({ featureGroup: { name: 'nope', version: 3 } })).toEqual({ path: at('featureGroup'), message: 'feature group nope version 3 not found' });
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'subscriptions', version: 9 } }] }).path).toEqual(at('joins', 0, 'featureGroup'));
  });

  it('unknown, repeated or contradictory selections', () => {
    expect(issue({ ...left, features: ['plan', 'nope'] })).toEqual({
      path: at('features', 1),
      message: 'no feature "nope" in feature group customer_info version 1',
    });
    expect(issue({ ...left, features: ['plan', 'plan'] }).path).toEqual(at('features', 1));
    expect(issue({ ...left, exceptFeatures: ['nope'] }).path).toEqual(at('exceptFeatures', 0));
    expect(issue({ ...left, features: ['plan'], exceptFeatures: ['tags'] }).path).toEqual(at('exceptFeatures'));
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, leftOn: ['region_id'], rightOn: ['id'], features: ['nope'] }] }).path).toEqual(
      at('joins', 0, 'features', 0),
    );
    expect(issue({ ...left, features: [] }).message).toBe('the query selects no features');
  });

  it('a join key missing from the left group', () => {
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' } }] })).toEqual({
      path: at('joins', 0, 'on'),
      message: 'the left group customer_info version 1 has no feature "id" to match the primary key of regions version 1; give on, or leftOn and rightOn',
    });
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, on: ['id'] }] })).toEqual({
      path: at('joins', 0, 'on', 0),
      message: 'join key "id" is not a feature of the left group customer_info version 1',
    });
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, leftOn: ['nope'], rightOn: ['id'] }] }).path).toEqual(at('joins', 0, 'leftOn', 0));
  });

  it('join keys that are not the joined group’s primary key', () => {
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, leftOn: ['region_id'], rightOn: ['name'] }] })).toEqual({
      path: at('joins', 0, 'rightOn', 0),
      message: 'join key "name" is not in the primary key of regions version 1 (id): a join matches the joined group\'s primary key',
    });
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, leftOn: ['region_id'], rightOn: ['nope'] }] }).message).toBe(
      'join key "nope" is not a feature of the joined group regions version 1',
    );
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'products' }, on: ['customer_id'] }] })).toEqual({
      path: at('joins', 0, 'on'),
      message:
        'the join does not match "product_id" of the primary key of products version 1 (customer_id, product_id): a join matches the joined group\'s whole primary key',
    });
  });

  it('malformed key lists', () => {
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, on: ['id'], leftOn: ['region_id'], rightOn: ['id'] }] }).path).toEqual(
      at('joins', 0, 'on'),
    );
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, leftOn: ['region_id'], rightOn: ['id', 'name'] }] })).toEqual({
      path: at('joins', 0, 'rightOn'),
      message: 'rightOn must list as many features as leftOn (1)',
    });
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, rightOn: ['id'] }] }).path).toEqual(at('joins', 0, 'leftOn'));
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'regions' }, on: [] }] }).path).toEqual(at('joins', 0, 'on'));
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'subscriptions' }, on: ['customer_id', 'customer_id'], prefix: 's_' }] })).toEqual({
      path: at('joins', 0, 'on', 1),
      message: 'join key "customer_id" is given twice',
    });
  });

  it('join keys of different types', () => {
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'accounts' } }] })).toEqual({
      path: at('joins', 0, 'on'),
      message: 'join key types differ: "customer_id" is BIGINT in customer_info version 1 but "customer_id" is STRING in accounts version 1',
    });
  });

  it('an output name clash without prefix, naming both columns', () => {
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'subscriptions' } }] })).toEqual({
      path: at('joins', 0, 'prefix'),
      message: 'tenure from customer_info and tenure from subscriptions: give a prefix',
    });
    expect(
      issue({
        ...left,
        features: ['customer_id', 'tenure'],
        joins: [
          { featureGroup: { name: 'subscriptions' }, features: ['tenure'], prefix: 'x_' },
          { featureGroup: { name: 'subscriptions' }, features: ['tenure'], prefix: 'x_' },
        ],
      }),
    ).toEqual({
      path: at('joins', 1, 'prefix'),
      message: 'tenure from subscriptions (as x_tenure) and tenure from subscriptions (prefix "x_") are both named "x_tenure": choose another prefix',
    });
    expect(issue({ ...left, features: ['customer_id'], joins: [{ featureGroup: { name: 'subscriptions' }, features: ['customer_id'] }] }).message).toBe(
      'customer_id from customer_info and customer_id from subscriptions: give a prefix',
    );
  });

  it('a bad prefix or join type', () => {
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'subscriptions' }, prefix: 'Sub-' }] }).path).toEqual(at('joins', 0, 'prefix'));
    expect(issue({ ...left, joins: [{ featureGroup: { name: 'subscriptions' }, prefix: 's_', type: 'OUTER' }] })).toEqual({
      path: at('joins', 0, 'type'),
      message: 'unknown join type "OUTER": LEFT or INNER',
    });
    const long = issues({ ...left, joins: [{ featureGroup: { name: 'subscriptions' }, prefix: 'p'.repeat(60) }] });
    expect(long.map((i) => i.message)).toEqual([
      `output name "${'p'.repeat(60)}tenure" is longer than 63 characters: choose a shorter prefix`,
      `output name "${'p'.repeat(60)}monthly" is longer than 63 characters: choose a shorter prefix`,
    ]);
  });

  it('a filter on an unknown output feature', () => {
    expect(
      issue({ ...left, joins: [{ featureGroup: { name: 'subscriptions' }, prefix: 's_' }], filters: [{ feature: 'monthly', op: 'GT', value: 1 }] }),
    ).toEqual({
      path: at('filters', 0, 'feature'),
      message: 'no output feature "monthly" (filters name output features: did you mean "s_monthly"?)',
    });
    expect(issue({ ...left, features: ['customer_id'], filters: [{ feature: 'plan', op: 'EQ', value: 'a' }] }).message).toBe('no output feature "plan"');
  });

  it('a bad op, or a value of the wrong type', () => {
    const filter = (feature: string, op: string, value: unknown) => issue({ ...left, filters: [{ feature, op, value }] });
    expect(filter('plan', 'CONTAINS', 'a')).toEqual({
      path: at('filters', 0, 'op'),
      message: 'unknown filter op "CONTAINS": one of EQ, NE, LT, LE, GT, GE, IN, LIKE',
    });
    expect(filter('tenure', 'EQ', 'ten')).toEqual({ path: at('filters', 0, 'value'), message: '"ten" is not an integer (the feature is BIGINT)' });
    expect(filter('tenure', 'EQ', 1.5).path).toEqual(at('filters', 0, 'value'));
    expect(filter('store', 'EQ', 2 ** 31).message).toBe('2147483648 is not an integer in the range of INT (the feature is INT)');
    expect(filter('tenure', 'IN', 3).message).toBe('IN needs a non-empty list of values');
    expect(filter('tenure', 'IN', []).path).toEqual(at('filters', 0, 'value'));
    expect(filter('tenure', 'IN', [1, null]).message).toMatch(/^IN list element 1 is null/);
    expect(filter('tenure', 'IN', [1, 'x']).message).toMatch(/^IN list element 1: "x" is not an integer/);
    expect(filter('tenure', 'LIKE', '1%')).toEqual({ path: at('filters', 0, 'op'), message: 'LIKE needs a STRING feature; "tenure" is BIGINT' });
    expect(filter('plan', 'LIKE', 5).path).toEqual(at('filters', 0, 'value'));
    expect(filter('active', 'LT', true)).toEqual({ path: at('filters', 0, 'op'), message: 'LT needs an ordered type; "active" is BOOLEAN (use EQ or NE)' });
    expect(filter('active', 'EQ', 'yes').path).toEqual(at('filters', 0, 'value'));
    expect(filter('tenure', 'GT', null)).toEqual({ path: at('filters', 0, 'value'), message: 'GT needs a value (only EQ and NE compare with null)' });
    expect(filter('tags', 'EQ', ['a'])).toEqual({
      path: at('filters', 0, 'feature'),
      message: '"tags" is ARRAY<STRING>: features of this type cannot be filtered',
    });
    expect(filter('event_time', 'GT', '2024-13-01').path).toEqual(at('filters', 0, 'value'));
    expect(filter('event_time', 'GT', true).path).toEqual(at('filters', 0, 'value'));
    expect(filter('signup', 'EQ', '2023-02-29').message).toBe('"2023-02-29" is not a date YYYY-MM-DD (the feature is DATE)');
    expect(filter('plan', 'EQ', 1).message).toBe('1 is not a string (the feature is STRING)');
  });

  it('every culprit at once', () => {
    const found = issues({
      ...left,
      features: ['nope'],
      joins: [{ featureGroup: { name: 'missing' } }, { featureGroup: { name: 'accounts' }, type: 'FULL' }],
      filters: [{ feature: 'x', op: 'EQ', value: 1 }],
    });
    expect(found.map((i) => i.path)).toEqual([at('features', 0), at('joins', 0, 'featureGroup'), at('joins', 1, 'type'), at('joins', 1, 'on')]);
  });
});
