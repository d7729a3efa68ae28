import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('defaults to 127.0.0.1:4000, ./.granary resolved, embedded stores and the documented limits', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      dataDir: resolve(process.cwd(), '.granary'),
      databaseUrl: undefined,
      pubsubUrl: undefined,
      nodeEnv: 'development',
      logLevel: 'info',
      limits: { maxDepth: 12, maxAliases: 30, maxCost: 5_000_000, maxTokens: 5000, maxBodyBytes: 104_857_600 },
    });
  });

  it('resolves a relative data directory against the working directory', () => {
    expect(loadConfig({ GRANARY_DATA_DIR: 'data/granary' }).dataDir).toBe(resolve(process.cwd(), 'data/granary'));
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 4000, databaseUrl: undefined });
  });

  it('serves GraphiQL and introspection in development, not in production unless enabled', () => {
    expect(loadConfig({})).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({ NODE_ENV: 'production' })).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', GRANARY_GRAPHIQL: 'true' })).toMatchObject({ graphiql: true, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', GRANARY_INTROSPECTION: 'true' })).toMatchObject({ graphiql: false, introspection: true });
    expect(loadConfig({ GRANARY_GRAPHIQL: 'false', GRANARY_INTROSPECTION: '0' })).toMatchObject({ graphiql: false, introspection: false });
  });

  it('reads the given values', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u@db:5432/granary?schema=reg',
      PUBSUB_URL: 'redis://cache:6379',
      LOG_LEVEL: 'debug',
      GRANARY_MAX_DEPTH: '5',
      GRANARY_MAX_ALIASES: '6',
      GRANARY_MAX_COST: '700',
      GRANARY_MAX_TOKENS: '800',
      GRANARY_MAX_BODY_BYTES: '1024',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgresql://u@db:5432/granary?schema=reg',
      pubsubUrl: 'redis://cache:6379',
      logLevel: 'debug',
      limits: { maxDepth: 5, maxAliases: 6, maxCost: 700, maxTokens: 800, maxBodyBytes: 1024 },
    });
  });

  it('reports every bad variable at once, each with its value and what it must be', () => {
    const error = configError({ PORT: 'abc', DATABASE_URL: 'mysql://x', NODE_ENV: 'prod', HOST: '127.0.0.1' });
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    expect(lines.slice(1)).toHaveLength(3);
    expect(error.message).toContain('PORT="abc"');
    expect(error.message).toMatch(/DATABASE_URL="mysql:\/\/x": must be a postgresql:\/\/ URL/);
    expect(error.message).toMatch(/NODE_ENV="prod": .*production/);
    expect(error.message).not.toContain('HOST');
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PUBSUB_URL', 'http://cache'],
    ['LOG_LEVEL', 'verbose'],
    ['GRANARY_GRAPHIQL', 'yes'],
    ['GRANARY_MAX_DEPTH', '0'],
    ['GRANARY_MAX_BODY_BYTES', 'lots'],
  ])('refuses %s=%s', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(`${name}=${JSON.stringify(value)}`);
  });
});

describe('granary serve with a bad configuration', () => {
  it('exits non-zero naming each bad variable, before opening anything', () => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', PORT: 'abc', DATABASE_URL: 'mysql://x', NODE_ENV: 'prod' };
    const result = spawnSync(process.execPath, ['bin/granary.js', 'serve'], { cwd: ROOT, env, encoding: 'utf8', timeout: 20_000 });
    expect(result.status, result.stderr).not.toBe(0);
    expect(result.status).not.toBeNull();
    expect(result.stderr).toContain('invalid configuration');
    for (const name of ['PORT="abc"', 'DATABASE_URL="mysql://x"', 'NODE_ENV="prod"']) expect(result.stderr).toContain(name);
    // A clear message, not a stack trace.
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('serving');
  });
});
