import type { Readable } from 'node:stream';
import { OnnxModelError, OnnxScorer, type InputColumn } from '../../engine/models/onnx-scorer.ts';
import { ValidationError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { inputColumns } from './definition.ts';

/** Largest ONNX file loaded in process (larger models belong on a model server). */
export const MAX_ONNX_BYTES = 512 * 1024 * 1024;

/**
 * Which stored file deployments run: the one named (it must be an `.onnx` file of the version), or
 * for framework ONNX the version's only `.onnx` file; otherwise none.
 */
export function servingArtifactOf(
  framework: string,
  named: string | null | undefined,
  paths: readonly string[],
  at: (string | number)[] = ['input', 'servingArtifact'],
  /** A PENDING version gets its files later: the named file is checked when it is finalized. */
  later = false,
): string | null {
  const onnx = paths.filter((p) => p.toLowerCase().endsWith('.onnx'));
  if (named != null) {
    if (!named.toLowerCase().endsWith('.onnx')) throw ValidationError.at(at, `${named} is not an .onnx file: deployments run ONNX models`);
    if (!later && !paths.includes(named)) throw ValidationError.at(at, `${named} is not among the version's files (${paths.join(', ') || 'none'})`);
    return named;
  }
  if (framework !== 'ONNX') return null;
  if (onnx.length === 1) return onnx[0]!;
  if (onnx.length === 0) return null;
  throw ValidationError.at(at, `the version has several .onnx files (${onnx.join(', ')}): name the one deployments run in servingArtifact`);
}

export async function readAll(stream: Readable, size: number): Promise<Uint8Array> {
  if (size > MAX_ONNX_BYTES) {
    stream.destroy();
    throw new OnnxModelError(`the file is ${size} bytes; models served in process are at most ${MAX_ONNX_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Rows of an input example (an object or array row, or a list of them) in input column order. */
export function exampleRows(example: unknown, columns: readonly InputColumn[] | null): unknown[][] | null {
  if (example == null) return null;
  const rows = Array.isArray(example) && example.length > 0 && (Array.isArray(example[0]) || typeof example[0] === 'object') ? example : [example];
  return rows.map((row) => {
    if (Array.isArray(row)) return row;
    if (columns && typeof row === 'object' && row !== null) return columns.map((c) => (row as Record<string, unknown>)[c.name]);
    return [row];
  });
}

/**
 * Checks a version's ONNX file as registration must: it loads, its inputs match the input schema,
 * its outputs are tensors, and it scores the input example. A failure is a ValidationError at
 * `at` naming the file; onnxruntime's own text is logged, never returned.
 */
export async function checkServingArtifact(
  path: string,
  bytes: Uint8Array,
  modelSchema: unknown,
  inputExample: unknown,
  at: (string | number)[],
  logger: Logger,
): Promise<void> {
  const columns = inputColumns(modelSchema);
  let scorer: OnnxScorer;
  try {
    scorer = await OnnxScorer.load(bytes, columns);
  } catch (error) {
    if (error instanceof OnnxModelError) throw ValidationError.at(at, `ONNX model ${path}: ${error.message}`);
    throw error;
  }
  try {
    const rows = exampleRows(inputExample, columns);
    if (rows && rows.length > 0) {
      try {
        await scorer.score(rows);
      } catch (error) {
        logger.info({ err: error, path }, 'ONNX model could not score its input example');
        throw ValidationError.at(
          at,
          `ONNX model ${path} could not score the input example: check the model's input shapes and types (${scorer.inputs}) against the input schema`,
        );
      }
    }
  } finally {
    await scorer.release();
  }
}
