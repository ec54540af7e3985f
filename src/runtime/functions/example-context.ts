/**
 * The fixed trigger context the docs examples run in: a message on `t/1` from client `c1`,
 * a frozen clock (2023-11-14T22:13:20.123Z) and a UTC server time zone.
 */
import type { CallContext, FunctionServices } from './registry.js';

export const EXAMPLE_NOW_MS = 1_700_000_000_123;

export function exampleContext(
  createServices: (o?: Partial<FunctionServices>) => FunctionServices,
): CallContext {
  const services = createServices({
    now: () => EXAMPLE_NOW_MS,
    localOffsetSeconds: () => 0,
    getenv: (name) => (name === 'EMQXVAR_GREETING' ? 'hello' : undefined),
  });
  return {
    clause: 'select',
    services,
    columns: {
      id: '0005F8F84FFFAFB9F44200000D810002',
      clientid: 'c1',
      username: 'u1',
      peerhost: '127.0.0.1',
      qos: 1,
      topic: 't/1',
      flags: { dup: false, retain: true },
      payload: '{"x":{"y":1}}',
      timestamp: EXAMPLE_NOW_MS,
      node: services.node,
      event: 'message.publish',
    },
  };
}
