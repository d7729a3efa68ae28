/** The benchmarks' GraphQL setup calls: one JSON POST with an API key, and a check of a mutation's result type. */

/** Runs `query` with `variables` as the key's project; throws on GraphQL errors. */
export async function graphql(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 2000)}`);
  return body.data;
}

/** `data[field]` when its `__typename` is `typename` (a mutation's payload); throws with the answer otherwise (a typed error). */
export function expectType(data: any, field: string, typename: string): any {
  if (data?.[field]?.__typename !== typename) throw new Error(`${field}: ${JSON.stringify(data).slice(0, 2000)}`);
  return data[field];
}
