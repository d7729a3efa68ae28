import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { ConfirmButton, type Failure, FailureNote, failureOf, useBlocked } from '../../components/settings/forms.tsx';
import { TagSchemaForm } from '../../components/settings/TagSchemaForm.tsx';
import { formatTime } from '../../format.ts';

const TAG_SCHEMAS = graphql(`
  query ConsoleTagSchemas { tagSchemas { name description schema tagCount createdAt } }
`);

const DELETE_TAG_SCHEMA = graphql(`
  mutation ConsoleDeleteTagSchema($name: String!) {
    deleteTagSchema(name: $name) {
      __typename
      ... on DeleteTagSchemaPayload { name }
      ... on Error { message }
    }
  }
`);

type TagSchemaRow = ResultOf<typeof TAG_SCHEMAS>['tagSchemas'][number];

/** `/settings/tags`: the project's tag schemas (name, description, JSON Schema, use), create and delete (ADMIN, as the API asks). */
export function TagsSection() {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: TAG_SCHEMAS });
  const reload = () => reexecute({ requestPolicy: 'network-only' });
  return (
    <>
      <h2>Tag schemas</h2>
      <p className="muted">A tag schema names a tag and the JSON Schema its values must satisfy; objects carry tags of the names defined here.</p>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && !error && <Loading what="tag schemas" />}
      {data &&
        (data.tagSchemas.length === 0 ? (
          <p>No tag schema yet.</p>
        ) : (
          <table className="list tag-schemas">
            <caption className="visually-hidden">Tag schemas, by name</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">JSON Schema</th>
                <th scope="col" className="num">
                  Tags
                </th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.tagSchemas.map((t) => (
                <TagSchemaLine key={t.name} tagSchema={t} onChanged={reload} />
              ))}
            </tbody>
          </table>
        ))}
      <TagSchemaForm onCreated={reload} />
    </>
  );
}

function TagSchemaLine({ tagSchema: t, onChanged }: { tagSchema: TagSchemaRow; onChanged: () => void }) {
  const blocked = useBlocked('ADMIN');
  const [{ fetching }, remove] = useMutation(DELETE_TAG_SCHEMA);
  const [failure, setFailure] = useState<Failure | null>(null);
  const deleteIt = async () => {
    setFailure(null);
    const result = await remove({ name: t.name });
    const failed = failureOf(`${t.name} was not deleted`, result.error, result.data?.deleteTagSchema, 'DeleteTagSchemaPayload');
    if (failed) setFailure(failed);
    else onChanged();
  };
  return (
    <tr data-tag-schema={t.name}>
      <th scope="row">
        {t.name}
        {t.description && <div className="muted">{t.description}</div>}
      </th>
      <td>
        <pre className="json-schema">{JSON.stringify(t.schema, null, 2)}</pre>
      </td>
      <td className="num">{t.tagCount}</td>
      <td>{formatTime(t.createdAt)}</td>
      <td className="actions">
        <ConfirmButton
          label="Delete"
          accessibleLabel={`Delete tag schema ${t.name}`}
          question={`Delete tag schema ${t.name}?`}
          confirmLabel={`Delete ${t.name}`}
          blocked={blocked ?? (t.tagCount > 0 ? `${t.tagCount} object(s) carry a tag ${t.name}: remove those tags first.` : null)}
          busy={fetching}
          onConfirm={() => void deleteIt()}
        />
        {failure && <FailureNote failure={failure} />}
      </td>
    </tr>
  );
}
