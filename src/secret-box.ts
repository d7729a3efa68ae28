import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Prefix of every sealed value: format version, so the scheme can change later. */
const PREFIX = 'v1:';

/** A stored secret could not be opened: wrong key (GRANARY_SECRET_KEY changed) or corrupted. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/**
 * Seals secrets before they are stored (AES-256-GCM, random 96-bit nonce, authenticated) and opens
 * them when they are used. Sealed text is `v1:<base64 nonce|tag|ciphertext>`; it never contains
 * the secret, and a changed or truncated value fails to open rather than yielding garbage.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new Error('SecretBox: the key must be 32 bytes');
    return new SecretBox(key);
  }

  /**
   * The configured key, or the data directory's own (`secret.key`, created with mode 0600 on
   * first use) for an embedded server without GRANARY_SECRET_KEY.
   */
  static open(configuredKey: Buffer | undefined, dataDir: string): SecretBox {
    if (configuredKey) return SecretBox.fromKey(configuredKey);
    const file = join(dataDir, 'secret.key');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      // 'wx': two processes starting together never overwrite each other's key.
      try {
        writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
        chmodSync(file, 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    const text = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`${file} does not hold a 32-byte hex key`);
    return SecretBox.fromKey(Buffer.from(text, 'hex'));
  }

  seal(plain: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new SecretBoxError('not a sealed secret');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    if (raw.length < 28) throw new SecretBoxError('sealed secret is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed secret does not open with this key (was GRANARY_SECRET_KEY changed?)');
    }
  }
}
