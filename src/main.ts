import { runCli } from './cli.ts';

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Exit once the event loop drains; if a client library still holds a handle after a graceful
// stop, do not hang forever.
setTimeout(() => process.exit(code), 3000).unref();
