import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from '../builder.ts';

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'A date and time in ISO 8601 with a time zone, e.g. `2026-01-31T12:00:00.000Z`.',
});
builder.addScalarType('JSON', JSONResolver, { description: 'Any JSON value.' });
builder.scalarType('File', {
  description: 'A file uploaded with the GraphQL multipart request spec. Input only.',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
});
