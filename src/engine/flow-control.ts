/**
 * Back-pressure bookkeeping between sink runners and the connections that feed them. A
 * record from client C reaching sink S while S is under pressure pauses C (once); when S's
 * pressure lifts, every client it paused is resumed unless another pressured sink still
 * holds it. Costs nothing while no sink is under pressure (the engine asks only then).
 */
import type { ClientFlowControl } from '../core/index.js';

export class FlowControl {
  /** sink → clients it paused. */
  private readonly bySink = new Map<string, Set<string>>();
  /** client → number of sinks holding it paused. */
  private readonly holds = new Map<string, number>();

  constructor(private readonly port: ClientFlowControl) {}

  /** A record of `clientid` went into `sink`, which is under pressure: pause the client. */
  hold(sink: string, clientid: string): void {
    let set = this.bySink.get(sink);
    if (set?.has(clientid)) return;
    if (!this.port.pauseClient(clientid)) return; // not a connected client (API, rule, gone)
    if (!set) this.bySink.set(sink, (set = new Set()));
    set.add(clientid);
    this.holds.set(clientid, (this.holds.get(clientid) ?? 0) + 1);
  }

  /** `sink`'s pressure lifted: resume the clients only it was holding. */
  release(sink: string): void {
    const set = this.bySink.get(sink);
    if (!set) return;
    this.bySink.delete(sink);
    for (const id of set) {
      const n = (this.holds.get(id) ?? 1) - 1;
      if (n > 0) this.holds.set(id, n);
      else {
        this.holds.delete(id);
        this.port.resumeClient(id);
      }
    }
  }

  /** Clients `sink` holds paused now. */
  pausedBy(sink: string): number {
    return this.bySink.get(sink)?.size ?? 0;
  }

  /** Resume everyone (shutdown). */
  releaseAll(): void {
    for (const sink of [...this.bySink.keys()]) this.release(sink);
  }
}
