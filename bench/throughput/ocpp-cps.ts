/**
 * Charge point simulator for bench/throughput/ocpp.ts (run in its own process so the load does
 * not share the server's event loop): N raw `ws` connections to `<url>/<prefix><i>`, then each
 * sends `perCp` MeterValues CALLs. UniqueId = `<send ms>.<cp>.<seq>` carries the send time.
 * `rate` = total CALLs/s spread evenly over the CPs (0 = as fast as the sockets take them).
 *
 *   tsx ocpp-cps.ts <url> <n> <perCp> <rate>      prints "ready" once connected, reads "go"
 */
import WebSocket from 'ws';

const [url, nArg, perArg, rateArg] = process.argv.slice(2);
const n = Number(nArg);
const perCp = Number(perArg);
const rate = Number(rateArg);

function meterValues(cp: number, seq: number): string {
  const id = `${Date.now()}.${cp}.${seq}`;
  return JSON.stringify([
    2,
    id,
    'MeterValues',
    {
      connectorId: 1,
      transactionId: 58213,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            {
              value: String(1523400 + seq),
              measurand: 'Energy.Active.Import.Register',
              unit: 'Wh',
            },
            { value: '11040', measurand: 'Power.Active.Import', unit: 'W' },
          ],
        },
      ],
    },
  ]);
}

const sockets: WebSocket[] = [];
let opened = 0;
await new Promise<void>((resolve, reject) => {
  // Connect in waves of 200 so the accept queue is not flooded.
  let next = 0;
  const wave = () => {
    for (let k = 0; k < 200 && next < n; k++, next++) {
      const ws = new WebSocket(`${url}/CP${next}`, ['ocpp1.6'], { perMessageDeflate: false });
      ws.once('open', () => {
        if (++opened === n) resolve();
        else if (opened % 200 === 0) wave();
      });
      ws.once('error', reject);
      ws.on('message', () => undefined);
      sockets.push(ws);
    }
  };
  wave();
});
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  if (rate <= 0) {
    for (let seq = 0; seq < perCp; seq++)
      for (let i = 0; i < n; i++) sockets[i]!.send(meterValues(i, seq));
    return;
  }
  // Paced: every 10 ms send the share of the rate that is due, round-robin over the CPs.
  const total = n * perCp;
  let sent = 0;
  const start = Date.now();
  const t = setInterval(() => {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate));
    for (; sent < due; sent++) sockets[sent % n]!.send(meterValues(sent % n, Math.floor(sent / n)));
    if (sent >= total) clearInterval(t);
  }, 10);
});
process.stdin.on('end', () => process.exit(0));
