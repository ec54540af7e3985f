/**
 * A fixed-capacity ring of encoded trace steps (oldest overwritten first). Steps are stored as
 * their JSON text, encoded once when recorded, so the ring holds no references into messages
 * and the API answers without re-encoding.
 */
export interface StoredStep {
  readonly seq: number;
  readonly json: string;
}

export class StepRing {
  private readonly items: (StoredStep | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<StoredStep | undefined>(Math.max(1, capacity));
  }

  get size(): number {
    return this.count;
  }

  push(step: StoredStep): void {
    const cap = this.items.length;
    if (this.count < cap) {
      this.items[(this.start + this.count) % cap] = step;
      this.count++;
    } else {
      this.items[this.start] = step;
      this.start = (this.start + 1) % cap;
    }
  }

  /** Steps with `seq > after`, oldest first (all of them for `after` = 0). */
  since(after = 0): StoredStep[] {
    const out: StoredStep[] = [];
    const cap = this.items.length;
    for (let i = 0; i < this.count; i++) {
      const s = this.items[(this.start + i) % cap] as StoredStep;
      if (s.seq > after) out.push(s);
    }
    return out;
  }
}
