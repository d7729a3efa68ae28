import { type FormEvent, useId, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { type Failure, FailureNote, FieldIssues, failureOf, issuesAt, useBlocked } from './forms.tsx';

const CREATE_TAG_SCHEMA = graphql(`
  mutation ConsoleCreateTagSchema($name: String!, $description: String, $schema: JSON!) {
    createTagSchema(name: $name, description: $description, schema: $schema) {
      __typename
      ... on CreateTagSchemaPayload { tagSchema { name } }
      ... on ValidationError { issues { path message } }
      ... on Error { message }
    }
  }
`);

const EXAMPLE = `{
  "type": "object",
  "properties": { "team": { "type": "string" } },
  "required": ["team"]
}`;

/** The text of the schema field as JSON; a message (sent nowhere) when it is not JSON. */
export function parseSchema(text: string): { schema: NonNullable<unknown> } | { error: string } {
  if (text.trim() === '') return { error: 'write a JSON Schema, e.g. { "type": "string" }' };
  try {
    const schema = JSON.parse(text) as unknown;
    if (schema === null || schema === undefined) return { error: 'null is not a JSON Schema' };
    return { schema };
  } catch (error) {
    return { error: `not valid JSON: ${(error as Error).message}` };
  }
}

/**
 * Defines a tag schema (ADMIN, as the API asks): a name, a description and a JSON Schema written
 * as JSON. Text that is not JSON is refused here, before anything is sent; the API's own errors
 * (an invalid schema, a name in use with another schema) are shown as it gives them.
 */
export function TagSchemaForm({ onCreated }: { onCreated: (name: string) => void }) {
  const blocked = useBlocked('ADMIN');
  const id = useId();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [text, setText] = useState(EXAMPLE);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [{ fetching }, create] = useMutation(CREATE_TAG_SCHEMA);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (blocked !== null) return;
    setFailure(null);
    setCreated(null);
    const parsed = parseSchema(text);
    if ('error' in parsed) {
      setFailure({ title: 'The tag schema was not sent', message: 'the schema is not JSON', issues: [{ path: ['schema'], message: parsed.error }] });
      return;
    }
    const result = await create({ name: name.trim(), description: description.trim() || null, schema: parsed.schema });
    const payload = result.data?.createTagSchema;
    const failed = failureOf('The tag schema was not created', result.error, payload, 'CreateTagSchemaPayload');
    if (failed) {
      setFailure(failed);
      return;
    }
    if (payload?.__typename !== 'CreateTagSchemaPayload') return;
    setCreated(`Tag schema ${payload.tagSchema.name} saved.`);
    setName('');
    setDescription('');
    setText(EXAMPLE);
    onCreated(payload.tagSchema.name);
  };
  const describedBy = (field: string, hint?: string) => {
    const ids = [hint, issuesAt(failure, field).length > 0 ? `${id}-${field}-issues` : undefined].filter(Boolean);
    return ids.length > 0 ? ids.join(' ') : undefined;
  };
  const invalid = (field: string) => issuesAt(failure, field).length > 0 || undefined;
  return (
    <form className="panel-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <fieldset className="body" disabled={blocked !== null} title={blocked ?? undefined}>
        <legend className="title" id={`${id}-title`}>
          New tag schema
        </legend>
        <div className="field">
          <label htmlFor={`${id}-name`}>Tag name</label>
          <input
            id={`${id}-name`}
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            autoComplete="off"
            placeholder="owner"
            aria-invalid={invalid('name')}
            aria-describedby={describedBy('name')}
          />
          <FieldIssues id={`${id}-name-issues`} issues={issuesAt(failure, 'name')} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-description`}>
            Description <span className="muted">(optional)</span>
          </label>
          <input
            id={`${id}-description`}
            type="text"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            autoComplete="off"
            aria-invalid={invalid('description')}
            aria-describedby={describedBy('description')}
          />
          <FieldIssues id={`${id}-description-issues`} issues={issuesAt(failure, 'description')} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-schema`}>JSON Schema</label>
          <textarea
            id={`${id}-schema`}
            rows={8}
            value={text}
            onChange={(e) => setText(e.target.value)}
            spellCheck={false}
            aria-invalid={invalid('schema')}
            aria-describedby={describedBy('schema', `${id}-schema-hint`)}
          />
          <p className="hint muted" id={`${id}-schema-hint`}>
            Every tag of this name must satisfy it (draft-07 unless <code>$schema</code> names 2019-09 or 2020-12).
          </p>
          <FieldIssues id={`${id}-schema-issues`} issues={issuesAt(failure, 'schema')} />
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={fetching}>
            {fetching ? 'Saving…' : 'Create tag schema'}
          </button>
          {blocked !== null && <span className="muted">{blocked}</span>}
        </div>
      </fieldset>
      <p className="live-status" role="status">
        {created && <span className="done">{created}</span>}
      </p>
      {failure && <FailureNote failure={failure} shownAt={['name', 'description', 'schema']} />}
    </form>
  );
}
