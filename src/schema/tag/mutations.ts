import type { Tag, TagSchema } from '../../generated/sqlite/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { globalIdOf } from '../../services/lineage/catalog.ts';
import { builder } from '../builder.ts';
import { TagSchemaType, TagType } from './types.ts';

const TARGET_DESCRIPTION = 'Global id (`id`) of a feature group, feature view, training dataset or model of the caller’s project.';

const CreateTagSchemaPayload = builder.objectRef<{ tagSchema: TagSchema }>('CreateTagSchemaPayload').implement({
  description: 'The created tag schema, or the existing one with the same schema.',
  fields: (t) => ({
    tagSchema: t.field({ type: TagSchemaType, description: 'The tag schema.', resolve: (p) => p.tagSchema }),
  }),
});

builder.mutationField('createTagSchema', (t) =>
  t.field({
    type: CreateTagSchemaPayload,
    description:
      'Defines a tag name and the JSON Schema its values must satisfy (ADMIN). The same name with the same schema returns the existing one; with another schema it is a ConflictError.',
    authScopes: { admin: true },
    errors: { types: [ValidationError, ConflictError] },
    args: {
      name: t.arg.string({ required: true, description: 'Tag name: letters, digits, _, . and -, starting with a letter.' }),
      schema: t.arg({
        type: 'JSON',
        required: true,
        description:
          'A JSON Schema object, e.g. `{ "type": "object", "properties": { "team": { "type": "string" } }, "required": ["team"] }`. `format` is checked; `errorMessage` gives the schema’s own messages.',
      }),
      description: t.arg.string({ description: 'What tags of this name say.' }),
    },
    resolve: async (_root, args, ctx) => ({ tagSchema: await ctx.services.tags.createSchema(ctx.viewer, args) }),
  }),
);

const DeleteTagSchemaPayload = builder.objectRef<TagSchema>('DeleteTagSchemaPayload').implement({
  description: 'The deleted tag schema.',
  fields: (t) => ({ name: t.exposeString('name', { description: 'Its name.' }) }),
});

builder.mutationField('deleteTagSchema', (t) =>
  t.field({
    type: DeleteTagSchemaPayload,
    description: 'Deletes a tag schema (ADMIN); refused with a ConflictError while any object carries a tag of its name.',
    authScopes: { admin: true },
    errors: { types: [NotFoundError, ConflictError] },
    args: { name: t.arg.string({ required: true, description: 'Tag name.' }) },
    resolve: (_root, { name }, ctx) => ctx.services.tags.deleteSchema(ctx.viewer, name),
  }),
);

const AddTagPayload = builder.objectRef<{ tag: Tag; target: { id: string; kind: string } }>('AddTagPayload').implement({
  description: 'The tag as stored.',
  fields: (t) => ({
    tag: t.field({ type: TagType, description: 'The tag.', resolve: (p) => p.tag }),
    target: t.id({ description: 'Global id of the tagged object.', resolve: (p) => globalIdOf(p.target) }),
  }),
});

builder.mutationField('addTag', (t) =>
  t.field({
    type: AddTagPayload,
    description:
      'Sets a tag on an object (replacing the value of a tag it has by that name). The value must satisfy the tag schema of that name; if not, a ValidationError carries the schema’s messages and nothing is stored.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      target: t.arg.id({ required: true, description: TARGET_DESCRIPTION }),
      name: t.arg.string({ required: true, description: 'Tag name; a tag schema of this name must exist.' }),
      value: t.arg({ type: 'JSON', required: true, description: 'The value, checked against the tag schema.' }),
    },
    resolve: async (_root, args, ctx) => {
      const { tag, entry } = await ctx.services.tags.addTag(ctx.viewer, String(args.target), args.name, args.value);
      return { tag, target: entry };
    },
  }),
);

const RemoveTagPayload = builder.objectRef<{ tag: Tag; target: { id: string; kind: string } }>('RemoveTagPayload').implement({
  description: 'The removed tag.',
  fields: (t) => ({
    name: t.string({ description: 'Its name.', resolve: (p) => p.tag.name }),
    target: t.id({ description: 'Global id of the object it was on.', resolve: (p) => globalIdOf(p.target) }),
  }),
});

builder.mutationField('removeTag', (t) =>
  t.field({
    type: RemoveTagPayload,
    description: 'Removes a tag from an object.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      target: t.arg.id({ required: true, description: TARGET_DESCRIPTION }),
      name: t.arg.string({ required: true, description: 'Tag name.' }),
    },
    resolve: async (_root, args, ctx) => {
      const { tag, entry } = await ctx.services.tags.removeTag(ctx.viewer, String(args.target), args.name);
      return { tag, target: entry };
    },
  }),
);

const KeywordsPayload = (name: string, description: string) =>
  builder.objectRef<{ keywords: string[]; entry: { id: string; kind: string } }>(name).implement({
    description,
    fields: (t) => ({
      keywords: t.stringList({ description: 'All the object’s keywords now, sorted.', resolve: (p) => p.keywords }),
      target: t.id({ description: 'Global id of the object.', resolve: (p) => globalIdOf(p.entry) }),
    }),
  });

builder.mutationField('addKeywords', (t) =>
  t.field({
    type: KeywordsPayload('AddKeywordsPayload', 'The object’s keywords after the change.'),
    description: 'Adds keywords (case-insensitive labels, stored lower-case) to an object; those it has already stay once.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      target: t.arg.id({ required: true, description: TARGET_DESCRIPTION }),
      keywords: t.arg.stringList({ required: true, description: 'Keywords: letters, digits, spaces, _, . and -.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.tags.addKeywords(ctx.viewer, String(args.target), args.keywords),
  }),
);

builder.mutationField('removeKeyword', (t) =>
  t.field({
    type: KeywordsPayload('RemoveKeywordPayload', 'The object’s keywords after the change.'),
    description: 'Removes a keyword from an object.',
    authScopes: { write: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: {
      target: t.arg.id({ required: true, description: TARGET_DESCRIPTION }),
      keyword: t.arg.string({ required: true, description: 'The keyword (case-insensitive).' }),
    },
    resolve: (_root, args, ctx) => ctx.services.tags.removeKeyword(ctx.viewer, String(args.target), args.keyword),
  }),
);
