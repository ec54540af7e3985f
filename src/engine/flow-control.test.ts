import { describe, expect, it } from 'vitest';
import { FlowControl } from './flow-control.js';

function port(connected: string[]) {
  const paused = new Set<string>();
  const calls: string[] = [];
  return {
    paused,
    calls,
    pauseClient(id: string) {
      if (!connected.includes(id)) return false;
      calls.push(`pause ${id}`);
      paused.add(id);
      return true;
    },
    resumeClient(id: string) {
      calls.push(`resume ${id}`);
      paused.delete(id);
    },
  };
}

describe('FlowControl', () => {
  it('pauses a client once per sink and resumes it when the sink lifts its pressure', () => {
    const p = port(['a', 'b']);
    const f = new FlowControl(p);
    f.hold('s', 'a');
    f.hold('s', 'a');
    f.hold('s', 'b');
    expect(p.calls).toEqual(['pause a', 'pause b']);
    expect(f.pausedBy('s')).toBe(2);
    f.release('s');
    expect([...p.paused]).toEqual([]);
    expect(f.pausedBy('s')).toBe(0);
  });

  it('a client held by two sinks resumes only when both lift', () => {
    const p = port(['a']);
    const f = new FlowControl(p);
    f.hold('s1', 'a');
    f.hold('s2', 'a');
    f.release('s1');
    expect(p.paused.has('a')).toBe(true);
    f.release('s2');
    expect(p.paused.has('a')).toBe(false);
  });

  it('ignores producers that are not connected clients', () => {
    const p = port([]);
    const f = new FlowControl(p);
    f.hold('s', 'rule-1');
    expect(f.pausedBy('s')).toBe(0);
    f.release('s');
    expect(p.calls).toEqual([]);
  });

  it('releaseAll resumes everyone', () => {
    const p = port(['a', 'b']);
    const f = new FlowControl(p);
    f.hold('s1', 'a');
    f.hold('s2', 'b');
    f.releaseAll();
    expect([...p.paused]).toEqual([]);
  });
});
