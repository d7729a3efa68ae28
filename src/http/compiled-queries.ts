import {
  BREAK,
  getNamedType,
  isScalarType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.ts';

/** Executions of a document before it is compiled: a one-off query is not worth compiling (ms). */
const JIT_AFTER_EXECUTIONS = 2;

interface Entry {
  /** The query to compile, or null: several operations, not a query, not compilable. */
  operation: OperationDefinitionNode | null;
  runs: number;
}

/**
 * Compiles query operations with graphql-jit (several times faster execution than graphql-js)
 * once a document has run a few times, so a client sending ever new documents cannot make the
 * server compile on every request; mutations and subscriptions keep graphql-js. graphql-jit is
 * loaded when the first document turns hot, not at start (≈ 90 ms of imports).
 *
 * Some documents stay on graphql-js, where graphql-jit would answer differently:
 * - several operations: the plugin caches compiled code per document, whatever the operationName,
 *   so another operation of the same document would run the first one's code;
 * - an operationName that is not the operation's: graphql-js reports it (the plugin would cache
 *   the failure for the document);
 * - a literal for a scalar that reads variables inside literals (JSON: `entry: { id: $id }`):
 *   graphql-jit parses such literals without the variables (and complains on stderr);
 * - a document graphql-jit fails to compile (that one request gets the compilation errors).
 */
export function useCompiledQueries(logger: Logger): Plugin {
  const seen = new WeakMap<DocumentNode, Entry>();
  let compiling: Entry | undefined;
  let jit: Plugin | undefined;
  let loading = false;
  const load = () => {
    loading = true;
    import('@envelop/graphql-jit')
      .then(({ useGraphQlJit }) => {
        jit = useGraphQlJit(
          {},
          {
            // Compilation runs synchronously right after onExecute, so `compiling` is this document's entry.
            onError(result) {
              logger.warn({ errors: result.errors }, 'graphql-jit could not compile a query; it runs on graphql-js');
              if (compiling) compiling.operation = null;
            },
          },
        ) as Plugin;
      })
      .catch((error: unknown) => logger.error({ err: error }, 'graphql-jit failed to load; queries run on graphql-js'));
  };
  return {
    onExecute(payload) {
      const document = payload.args.document as DocumentNode;
      const operationName = payload.args.operationName as string | null | undefined;
      let entry = seen.get(document);
      if (!entry) {
        entry = { operation: compilableQuery(payload.args.schema as GraphQLSchema, document), runs: 0 };
        seen.set(document, entry);
      }
      const { operation } = entry;
      if (!operation || (operationName != null && operationName !== operation.name?.value)) return;
      if (++entry.runs <= JIT_AFTER_EXECUTIONS) return;
      if (!jit) {
        if (!loading) load();
        return;
      }
      compiling = entry;
      return jit.onExecute!(payload);
    },
  };
}

/** The document's only operation when it is a query graphql-jit runs as graphql-js does; else null. */
export function compilableQuery(schema: GraphQLSchema, document: DocumentNode): OperationDefinitionNode | null {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.length === 1 ? operations[0]! : null;
  if (operation?.operation !== 'query') return null;
  let literalReadsVariables = false;
  const typeInfo = new TypeInfo(schema);
  const literal = () => {
    const type = getNamedType(typeInfo.getInputType());
    // parseLiteral(valueNode, variables): a scalar that looks at variables inside its literals.
    if (type && isScalarType(type) && type.parseLiteral.length > 1) {
      literalReadsVariables = true;
      return BREAK;
    }
    return undefined;
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      [Kind.OBJECT]: literal,
      [Kind.LIST]: literal,
      [Kind.STRING]: literal,
      [Kind.INT]: literal,
      [Kind.FLOAT]: literal,
      [Kind.BOOLEAN]: literal,
      [Kind.ENUM]: literal,
      [Kind.NULL]: literal,
    }),
  );
  return literalReadsVariables ? null : operation;
}
