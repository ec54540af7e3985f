/**
 * Developer entry point: `npm run services` starts the KDC and the Kafka broker, prints how to
 * reach them (also written to .services/env.json), and stops both on Ctrl-C / SIGTERM.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServices } from './index.js';
import { REPO_ROOT } from './kafka.js';

const services = await startServices({ log: (m) => console.log(m) });
const { facts } = services;
const out = join(REPO_ROOT, '.services');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'env.json'), JSON.stringify(facts, null, 2));
console.log(`
Services are up (facts in .services/env.json). For Kerberos clients:
  export KRB5_CONFIG=${facts.kdc.krb5Conf}
  client keytabs: ${Object.values(facts.kdc.clients)
    .map((c) => `${c.principal} → ${c.keytab}`)
    .join(', ')}
Kafka: PLAINTEXT ${facts.kafka.plaintext} | GSSAPI ${facts.kafka.gssapi} | PLAIN/SCRAM ${facts.kafka.sasl} (user ${facts.kafka.scram.username}) | SSL ${facts.kafka.ssl} (CA ${facts.kafka.caFile})
Press Ctrl-C to stop.`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log('stopping services…');
  await services.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
setInterval(() => {}, 1 << 30);
