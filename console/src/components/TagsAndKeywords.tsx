import { formatTime } from '../format.ts';
import { jsonText } from './group/values.tsx';

/** An object's tags (name, JSON value, when set) and keywords, as groups and models show them. */
export function TagsAndKeywords({ tags, keywords }: { tags: readonly { name: string; value: unknown; updatedAt: unknown }[]; keywords: readonly string[] }) {
  return (
    <>
      {tags.length === 0 ? (
        <p className="muted">No tags.</p>
      ) : (
        <table className="list">
          <caption className="visually-hidden">Tags</caption>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Value</th>
              <th scope="col">Set</th>
            </tr>
          </thead>
          <tbody>
            {tags.map((t) => (
              <tr key={t.name}>
                <th scope="row">{t.name}</th>
                <td>
                  <code className="json">{jsonText(t.value)}</code>
                </td>
                <td>{formatTime(t.updatedAt as string)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p>
        <span className="muted">Keywords: </span>
        {keywords.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          keywords.map((k) => (
            <span key={k} className="badge keyword">
              {k}
            </span>
          ))
        )}
      </p>
    </>
  );
}
