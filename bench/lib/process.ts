import type { ChildProcess } from 'node:child_process';

/**
 * Resolves to the first match of `pattern` (group 1) in a child's stdout, as it prints; rejects when
 * the child exits first or prints nothing matching within 60 s. `out`/`err` return what it printed.
 */
export function waitForPrintedUrl(
  child: ChildProcess,
  exited: Promise<unknown[]>,
  pattern: RegExp,
  label: string,
  out: () => string,
  err: () => string,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} printed no URL within 60 s:\n${out()}\n${err()}`)), 60_000);
    const check = () => {
      const match = pattern.exec(out());
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${String(code)} before serving:\n${out()}\n${err()}`));
    });
  });
}
