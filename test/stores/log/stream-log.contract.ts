import { afterAll, describe, expect, it } from 'vitest';

import type { LogMessage, StreamLog } from '../../../src/stores/log/stream-log.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const text = (m: LogMessage) => decoder.decode(m.data);
const seqs = (messages: readonly LogMessage[]) => messages.map((m) => m.sequence);

/** Resolves once `check` passes, retrying every 10 ms; fails with its last error after `timeoutMs`. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * The StreamLog contract: every backend runs it. `open` gives a log; each call gives another
 * instance over the same storage (as another process would open it), which the suite closes. Each
 * test works in its own stream, removed at the end.
 */
export function streamLogContract(name: string, open: () => StreamLog | Promise<StreamLog>): void {
  describe(`StreamLog contract: ${name}`, () => {
    const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const opened: StreamLog[] = [];
    const streams: string[] = [];
    let n = 0;

    async function log(): Promise<StreamLog> {
      const instance = await open();
      opened.push(instance);
      return instance;
    }

    /** A fresh stream on `instance` and a subject maker: `subject('a')` is `<prefix>.a`. */
    async function stream(instance: StreamLog): Promise<{ stream: string; subject: (s: string) => string }> {
      const id = `${run}_${++n}`;
      const streamName = `contract_${id}`;
      await instance.ensure(streamName, `c${id}`);
      streams.push(streamName);
      return { stream: streamName, subject: (s) => `c${id}.${s}` };
    }

    afterAll(async () => {
      const first = opened[0];
      if (first) for (const s of streams) await first.remove(s);
      for (const instance of opened.reverse()) await instance.close();
    });

    it('answers a ping while open and refuses one once closed (readiness)', async () => {
      const l = await open();
      await expect(l.ping()).resolves.toBeUndefined();
      await l.close();
      await expect(l.ping()).rejects.toThrow();
    });

    it('numbers appends with increasing sequences and reports the last one', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      expect(await l.last(s)).toBe(0);
      await l.ensure(s, subject('x').split('.')[0]!);
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await l.append(s, subject(i % 2 ? 'a' : 'b'), bytes(`m${i}`)));
      expect(results.every((r) => !r.duplicate)).toBe(true);
      for (let i = 1; i < results.length; i++) expect(results[i]!.sequence).toBeGreaterThan(results[i - 1]!.sequence);
      expect(await l.last(s)).toBe(results.at(-1)!.sequence);
    });

    it('appends a message with an id once: a repeat returns the first sequence as a duplicate', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      const first = await l.append(s, subject('a'), bytes('one'), 'id-1');
      const other = await l.append(s, subject('a'), bytes('two'), 'id-2');
      const again = await l.append(s, subject('a'), bytes('one again'), 'id-1');
      expect(first.duplicate).toBe(false);
      expect(again).toStrictEqual({ sequence: first.sequence, duplicate: true });
      expect(await l.last(s)).toBe(other.sequence);
      const all = await l.read(s, { from: 1, max: 10 });
      expect(all.map((m) => [m.sequence, text(m), m.id])).toStrictEqual([
        [first.sequence, 'one', 'id-1'],
        [other.sequence, 'two', 'id-2'],
      ]);
    });

    it('takes appends made at once: distinct sequences, an id among them once, a bad subject refused alone', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      const appends = Array.from({ length: 50 }, (_, i) => l.append(s, subject('a'), bytes(`m${i}`), i % 10 === 9 ? 'same' : undefined));
      const outside = l.append(s, 'elsewhere.a', bytes('outside')).then(
        () => null,
        (error: unknown) => error,
      );
      const results = await Promise.all(appends);
      expect(await outside).toBeInstanceOf(Error);
      const fresh = results.filter((r) => !r.duplicate);
      expect(fresh).toHaveLength(46);
      expect(new Set(fresh.map((r) => r.sequence)).size).toBe(46);
      const same = results.filter((_, i) => i % 10 === 9);
      expect(same.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(same.map((r) => r.sequence)).size).toBe(1);
      const all = await l.read(s, { from: 1, max: 100 });
      expect(all.map((m) => m.sequence)).toEqual(fresh.map((r) => r.sequence).sort((a, b) => a - b));
    });

    it('reads from an offset, by subject, at most max, and nothing beyond the end', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      const before = Date.now();
      const appended = [];
      for (let i = 0; i < 10; i++) appended.push((await l.append(s, subject(i % 3 === 0 ? 'a' : 'b'), bytes(`m${i}`))).sequence);
      const all = await l.read(s, { from: 1, max: 100 });
      expect(seqs(all)).toStrictEqual(appended);
      expect(all.map(text)).toStrictEqual(appended.map((_, i) => `m${i}`));
      expect(all[0]!.subject).toBe(subject('a'));
      expect(all[0]!.id).toBeNull();
      expect(all[0]!.appendedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(all[0]!.appendedAt).toBeLessThanOrEqual(Date.now() + 1000);
      expect(seqs(await l.read(s, { from: appended[4]!, max: 100 }))).toStrictEqual(appended.slice(4));
      expect(seqs(await l.read(s, { from: appended[4]!, max: 3 }))).toStrictEqual(appended.slice(4, 7));
      expect(seqs(await l.read(s, { from: appended[2]!, max: 1 }))).toStrictEqual([appended[2]]);
      expect(seqs(await l.read(s, { from: 1, subject: subject('a'), max: 100 }))).toStrictEqual([appended[0], appended[3], appended[6], appended[9]]);
      expect(seqs(await l.read(s, { from: appended[4]!, subject: subject('a'), max: 2 }))).toStrictEqual([appended[6], appended[9]]);
      expect(await l.read(s, { from: appended[9]! + 1, max: 100 })).toStrictEqual([]);
      expect(await l.read(s, { from: 1, subject: subject('none'), max: 100 })).toStrictEqual([]);
      expect(await l.read(s, { from: appended[9]! + 1, subject: subject('a'), max: 100 })).toStrictEqual([]);
    });

    it('consumes everything in order in batches of at most `batch`, advancing the ack floor', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      for (let i = 0; i < 12; i++) await l.append(s, subject('a'), bytes(`m${i}`));
      const batches: number[][] = [];
      const consumer = l.consume({
        stream: s,
        name: 'c1',
        batch: 5,
        handle: async (messages) => {
          batches.push(seqs(messages));
        },
      });
      for (let i = 12; i < 20; i++) await l.append(s, subject('a'), bytes(`m${i}`));
      const last = await l.last(s);
      await eventually(async () => expect(await l.consumerState(s, 'c1')).toStrictEqual({ ackFloor: last, pending: 0 }));
      await consumer.stop();
      expect(batches.flat()).toStrictEqual(seqs(await l.read(s, { from: 1, max: 100 })));
      expect(batches.every((b) => b.length >= 1 && b.length <= 5)).toBe(true);
    });

    it('resumes under the same name after the last acknowledged batch', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      for (let i = 0; i < 7; i++) await l.append(s, subject('a'), bytes(`m${i}`));
      const seen: number[] = [];
      const handle = async (messages: readonly LogMessage[]) => {
        seen.push(...seqs(messages));
      };
      const first = l.consume({ stream: s, name: 'resume', batch: 3, handle });
      await eventually(async () => expect((await l.consumerState(s, 'resume')).ackFloor).toBe(7));
      await first.stop();
      expect(await l.consumerState(s, 'resume')).toStrictEqual({ ackFloor: 7, pending: 0 });
      for (let i = 7; i < 11; i++) await l.append(s, subject('a'), bytes(`m${i}`));
      expect((await l.consumerState(s, 'resume')).pending).toBe(4);
      const second = l.consume({ stream: s, name: 'resume', batch: 3, handle });
      await eventually(async () => expect((await l.consumerState(s, 'resume')).ackFloor).toBe(11));
      await second.stop();
      expect(seen).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it('delivers a batch whose handler threw again, losing nothing', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      for (let i = 0; i < 9; i++) await l.append(s, subject('a'), bytes(`m${i}`));
      const calls: number[][] = [];
      const errors: unknown[] = [];
      let failures = 0;
      const consumer = l.consume({
        stream: s,
        name: 'retry',
        batch: 4,
        handle: async (messages) => {
          calls.push(seqs(messages));
          if (messages.some((m) => m.sequence === 5) && failures++ < 2) throw new Error('handler failed');
        },
        onError: (error) => errors.push(error),
      });
      await eventually(async () => expect((await l.consumerState(s, 'retry')).ackFloor).toBe(9));
      await consumer.stop();
      expect(errors).toHaveLength(2);
      expect((errors[0] as Error).message).toBe('handler failed');
      const failed = calls.findIndex((c) => c.includes(5));
      expect(calls[failed + 1]).toStrictEqual(calls[failed]);
      expect(calls[failed + 2]).toStrictEqual(calls[failed]);
      expect([...new Set(calls.flat())].sort((a, b) => a - b)).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('shares one durable name between two instances: every message handled exactly once', async () => {
      const a = await log();
      const b = await log();
      const { stream: s, subject } = await stream(a);
      for (let i = 0; i < 30; i++) await a.append(s, subject('a'), bytes(`m${i}`));
      const handled = new Map<number, string>();
      const duplicates: number[] = [];
      const handler = (who: string) => async (messages: readonly LogMessage[]) => {
        for (const m of messages) {
          if (handled.has(m.sequence)) duplicates.push(m.sequence);
          handled.set(m.sequence, who);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      };
      const ca = a.consume({ stream: s, name: 'shared', batch: 4, handle: handler('a') });
      const cb = b.consume({ stream: s, name: 'shared', batch: 4, handle: handler('b') });
      for (let i = 30; i < 60; i++) await (i % 2 ? a : b).append(s, subject('a'), bytes(`m${i}`));
      await eventually(async () => expect(await a.consumerState(s, 'shared')).toStrictEqual({ ackFloor: 60, pending: 0 }), 10_000);
      await Promise.all([ca.stop(), cb.stop()]);
      expect(duplicates).toStrictEqual([]);
      expect([...handled.keys()].sort((x, y) => x - y)).toStrictEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    });

    it('consumes only the given subjects', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      for (let i = 0; i < 10; i++) await l.append(s, subject(i % 2 ? 'a' : 'b'), bytes(`m${i}`));
      const seen: LogMessage[] = [];
      const consumer = l.consume({
        stream: s,
        name: 'only-a',
        subjects: [subject('a')],
        batch: 3,
        handle: async (messages) => {
          seen.push(...messages);
        },
      });
      await l.append(s, subject('b'), bytes('late b'));
      await l.append(s, subject('a'), bytes('late a'));
      await eventually(async () => expect(await l.consumerState(s, 'only-a')).toStrictEqual({ ackFloor: 12, pending: 0 }));
      await consumer.stop();
      expect(seen.every((m) => m.subject === subject('a'))).toBe(true);
      expect(seqs(seen)).toStrictEqual([2, 4, 6, 8, 10, 12]);
    });

    it('still knows an id after its message was trimmed', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      const first = await l.append(s, subject('a'), bytes('one'), 'kept-id');
      await l.trim(s, subject('a'), first.sequence);
      expect(await l.append(s, subject('a'), bytes('one again'), 'kept-id')).toStrictEqual({ sequence: first.sequence, duplicate: true });
      expect(await l.read(s, { from: 1, max: 10 })).toStrictEqual([]);
    });

    it("trims a subject's messages up to a sequence, or all of them", async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      for (let i = 0; i < 6; i++) await l.append(s, subject(i % 2 ? 'a' : 'b'), bytes(`m${i}`));
      await l.trim(s, subject('a'), 4);
      expect(seqs(await l.read(s, { from: 1, max: 100 }))).toStrictEqual([1, 3, 5, 6]);
      await l.trim(s, subject('a'));
      expect(seqs(await l.read(s, { from: 1, max: 100 }))).toStrictEqual([1, 3, 5]);
      expect(await l.last(s)).toBe(6);
      expect((await l.append(s, subject('a'), bytes('after'))).sequence).toBe(7);
    });

    it('removes a stream with its consumers', async () => {
      const l = await log();
      const { stream: s, subject } = await stream(l);
      const prefix = subject('x').split('.')[0]!;
      for (let i = 0; i < 3; i++) await l.append(s, subject('a'), bytes(`m${i}`));
      const consumer = l.consume({ stream: s, name: 'gone', batch: 10, handle: async () => {} });
      await eventually(async () => expect((await l.consumerState(s, 'gone')).ackFloor).toBe(3));
      await consumer.stop();
      await l.remove(s);
      await l.ensure(s, prefix);
      expect(await l.last(s)).toBe(0);
      expect(await l.read(s, { from: 1, max: 10 })).toStrictEqual([]);
      expect(await l.consumerState(s, 'gone')).toStrictEqual({ ackFloor: 0, pending: 0 });
      expect((await l.append(s, subject('a'), bytes('new'))).sequence).toBe(1);
    });
  });
}
