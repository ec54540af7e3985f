/**
 * Flooder of memory-reclaim-child.ts (its own process, as the abuse suite's attacker is):
 *   node --import tsx test/integration/memory-reclaim-flooder.ts <port>
 * Connects, sends 100 SUBSCRIBEs of 1,000 filters, sends `{granted}` over IPC once all 100
 * SUBACKs are in, and closes the connection (and exits) on the parent's next message.
 */
import net from 'node:net';

import { generate, parser } from 'mqtt-packet';

const s = net.connect(Number(process.argv[2]), '127.0.0.1');
await new Promise((r) => s.once('connect', r));
const p = parser();
let granted = 0;
let subacks = 0;
const done = new Promise<void>((resolve) =>
  p.on('packet', (pk) => {
    if (pk.cmd !== 'suback') return;
    granted += pk.granted.filter((g) => typeof g === 'number' && g < 0x80).length;
    if (++subacks === 100) resolve();
  }),
);
s.on('data', (b) => p.parse(b));
s.write(
  generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId: 'flood',
    clean: true,
    keepalive: 0,
  }),
);
for (let b = 0; b < 100; b++)
  s.write(
    generate({
      cmd: 'subscribe',
      messageId: b + 1,
      subscriptions: Array.from({ length: 1000 }, (_, i) => ({
        topic: `subs/${b}/${i}/+`,
        qos: 1 as const,
      })),
    }),
  );
await done;
process.send?.({ granted });
process.on('message', () => {
  s.destroy();
  process.exit(0);
});
