/**
 * Two Duplex ends wired back to back: what one end writes the other reads (a socket pair in
 * memory), for driving the broker over `createBrokerInternals(...).connect(stream, meta)`.
 */
import { Duplex } from 'node:stream';

export function memoryPipe(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const end = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (!peer().destroyed) peer().push(chunk);
        cb();
      },
      final(cb) {
        if (!peer().destroyed) peer().push(null);
        cb();
      },
      destroy(err, cb) {
        // Closing one end closes the other, as a TCP close does.
        if (!peer().destroyed) peer().destroy();
        cb(err);
      },
    });
  ends.push(
    end(() => ends[1]!),
    end(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}
