import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError } from '../src/secret-box.ts';

describe('SecretBox', () => {
  it('seals without the secret in the stored text and opens to it', () => {
    const box = SecretBox.fromKey(randomBytes(32));
    const sealed = box.seal('hunter2-password');
    expect(sealed).not.toContain('hunter2');
    expect(Buffer.from(sealed.slice(3), 'base64').toString('latin1')).not.toContain('hunter2');
    expect(box.open(sealed)).toBe('hunter2-password');
    // A fresh nonce each time: equal secrets do not give equal stored text.
    expect(box.seal('hunter2-password')).not.toBe(sealed);
  });

  it('refuses another key and tampered text', () => {
    const sealed = SecretBox.fromKey(randomBytes(32)).seal('s3cret');
    expect(() => SecretBox.fromKey(randomBytes(32)).open(sealed)).toThrow(SecretBoxError);
    const box = SecretBox.fromKey(randomBytes(32));
    const good = box.seal('s3cret');
    const raw = Buffer.from(good.slice(3), 'base64');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(`v1:${raw.toString('base64')}`)).toThrow(SecretBoxError);
  });

  it('keeps one key per data directory, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'granary-secret-'));
    const sealed = SecretBox.open(undefined, dir).seal('x');
    expect(SecretBox.open(undefined, dir).open(sealed)).toBe('x');
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'secret.key'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
