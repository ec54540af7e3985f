/**
 * TEST DOUBLE for the HStreamDB wire protocol, as a separate process (see server.ts):
 *
 *   npx tsx test/hstream-server/main.ts --port 0 [--host 127.0.0.1] [--persist FILE]
 *       [--no-strict] [--append-delay-ms N] [--max-record-size BYTES]
 *
 * Prints one line `HSTREAM_STANDIN_PORT=<port>` on stdout once listening. SIGTERM/SIGINT stop
 * it gracefully; SIGKILL is what the fault tests use (acknowledged appends are already on disk
 * when --persist is given).
 */
import { startStandInServer } from './server.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const server = await startStandInServer({
  host: arg('host') ?? '127.0.0.1',
  port: Number(arg('port') ?? 0),
  ...(arg('persist') ? { persistFile: arg('persist')! } : {}),
  strict: !process.argv.includes('--no-strict'),
  ...(arg('max-record-size') ? { maxRecordSize: Number(arg('max-record-size')) } : {}),
});
server.faults.appendDelayMs = Number(arg('append-delay-ms') ?? 0);
process.stdout.write(`HSTREAM_STANDIN_PORT=${server.port}\n`);

const stop = () => {
  void server.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
