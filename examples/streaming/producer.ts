/**
 * A Node producer that publishes rows straight to a feature group's subject on NATS JetStream, with
 * no GraphQL on the way: how a streaming pipeline (a Kafka bridge, a Flink sink, a service emitting
 * events) feeds Granary at full speed. The server runs with `STREAM_URL=nats://…` (the same NATS).
 *
 *   STREAM_URL=nats://127.0.0.1:4222 npx tsx examples/streaming/producer.ts <subject> [rows/s] [seconds]
 *
 * `<subject>` is the group's `streamSubject` (`granary.<project>.<group>.v<version>`); the group here
 * is `{ id BIGINT key, ts TIMESTAMP event time, amount DOUBLE, merchant STRING }`. Each message is one
 * JSON row (an array of rows works too); `Nats-Msg-Id` makes a resend of the same message count once.
 * Rows the group refuses (a wrong type, a missing key) become dead letters readable as the group's
 * `deadLetters`, and the stream goes on.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const [subject, rateText = '1000', secondsText = '5'] = process.argv.slice(2);
if (!subject) {
  console.error('usage: producer.ts <subject> [rows/s] [seconds]');
  process.exit(2);
}
const rate = Number(rateText);
const seconds = Number(secondsText);

const nc = await connect({ servers: process.env.STREAM_URL ?? 'nats://127.0.0.1:4222' });
const js = jetstream(nc);
const started = Date.now();
let sent = 0;
while (Date.now() - started < seconds * 1000) {
  // Publish this tick's share of the rate without waiting for each acknowledgement; then wait for all.
  const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < due; i++) {
    const n = sent + i;
    const row = { id: n % 10_000, ts: new Date().toISOString(), amount: Math.round(Math.random() * 10_000) / 100, merchant: `m${n % 97}` };
    acks.push(js.publish(subject, JSON.stringify(row), { msgID: `producer-${started}-${n}` }));
  }
  await Promise.all(acks);
  sent += due;
  await new Promise((resolve) => setTimeout(resolve, 10));
}
console.log(`published ${sent} rows to ${subject} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
await nc.drain();
