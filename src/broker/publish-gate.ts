/**
 * Back-pressure on one MQTT connection: while paused, the connection's authorized PUBLISH
 * packets are held instead of being routed. Aedes reads a connection's socket again only after
 * every packet of the last read has been handled, so a held packet stops the reading: the
 * socket's buffers fill and TCP flow control slows the publisher; a QoS 1/2 publisher gets no
 * PUBACK/PUBREC for a held packet. Memory is bounded by one socket read per connection.
 *
 * Held packets are released in arrival order on `resume` (and on disconnect, so nothing the
 * broker has read is lost). O(1) per packet: a FIFO with a moving head.
 */
export class PublishGate {
  paused = false;
  private held: ((() => void) | undefined)[] = [];
  private head = 0;

  /** Packets held now. */
  get size(): number {
    return this.held.length - this.head;
  }

  /** Run `proceed` now, or later in order if the gate is paused or still releasing. */
  pass(proceed: () => void): void {
    if (this.paused || this.head < this.held.length) this.held.push(proceed);
    else proceed();
  }

  pause(): void {
    this.paused = true;
  }

  /** Release held packets in order until the gate is paused again (a release may re-pause it). */
  resume(): void {
    this.paused = false;
    this.release(() => this.paused);
  }

  /** Release everything held, paused or not (the connection is closing). */
  flush(): void {
    this.release(() => false);
  }

  private release(stop: () => boolean): void {
    while (this.head < this.held.length && !stop()) {
      const proceed = this.held[this.head] as () => void;
      this.held[this.head++] = undefined;
      proceed();
    }
    if (this.head === this.held.length) {
      this.held = [];
      this.head = 0;
    }
  }
}
