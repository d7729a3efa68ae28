#!/usr/bin/env node
// Keeps rooms and functions small enough to read: no source file in src/ over
// MAX_FILE_LINES lines, no function (declaration, method, arrow or expression)
// over MAX_FUNCTION_LINES lines. Generated code (src/client/graphql-env.d.ts,
// src/generated) is left out. Exits 1 and lists every offender.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const MAX_FILE_LINES = 700;
const MAX_FUNCTION_LINES = 120;
const root = new URL('..', import.meta.url).pathname;
const generated = [/^src\/generated\//, /\.d\.ts$/];

function* sourceFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|tsx|mts)$/.test(name)) yield path;
  }
}

function functionName(node, source) {
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) return parent.name.getText(source);
  return '(anonymous)';
}

const problems = [];
for (const path of sourceFiles(join(root, 'src'))) {
  const file = relative(root, path);
  if (generated.some((pattern) => pattern.test(file))) continue;
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_FILE_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_FILE_LINES})`);
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const length = end - start + 1;
      if (length > MAX_FUNCTION_LINES)
        problems.push(`${file}:${start + 1}: function ${functionName(node, source)} is ${length} lines (at most ${MAX_FUNCTION_LINES})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

if (problems.length > 0) {
  console.error(`${problems.length} size limit(s) exceeded:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('sizes: every file and function in src/ within limits');
