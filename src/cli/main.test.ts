import { describe, expect, it } from 'vitest';
import { main } from './main.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('sluice command line', () => {
  it.each([['run'], ['check'], ['test-rule'], ['test'], ['plan'], ['hash-password'], ['api-key']])(
    'per-command help: %s --help, -h and help %s agree',
    async (cmd) => {
      const a = await cli([cmd, '--help']);
      const b = await cli(['help', cmd]);
      const c = await cli([cmd, '-h']);
      expect(a.code).toBe(0);
      expect(a.out).toMatch(new RegExp(`^Usage: sluice ${cmd}`));
      expect(a.out).toContain('Exit status');
      expect(b.out).toBe(a.out);
      expect(c.out).toBe(a.out);
    },
  );

  it('global help, help for an unknown topic', async () => {
    expect((await cli(['--help'])).out).toContain('sluice help COMMAND');
    expect((await cli(['help'])).out).toContain('sluice run');
    const bad = await cli(['help', 'frobnicate']);
    expect(bad.code).toBe(64);
    expect(bad.err).toContain('not a command');
  });

  it('-V, -v and --version print the version', async () => {
    for (const f of ['-V', '-v', '--version']) {
      const r = await cli([f]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^\d+\.\d+\.\d+/);
    }
  });

  it('unknown options get a clear one-line error naming the command help', async () => {
    const r = await cli(['check', '--frob']);
    expect(r.code).toBe(64);
    expect(r.err).toBe('sluice: unknown option --frob (see sluice check --help)');
    const v = await cli(['check', '-c']);
    expect(v.code).toBe(64);
    expect(v.err).toBe(
      'sluice: option -c, --config <value> needs a value (see sluice check --help)',
    );
  });

  it('an option of another command is refused', async () => {
    const r = await cli(['run', '--sql', 'SELECT 1 FROM "t"']);
    expect(r.code).toBe(64);
    expect(r.err).toBe('sluice run: option --sql does not apply to run (see sluice run --help)');
  });

  it('test-rule: a context that does not match FROM is "no result" (exit 2), as in the API', async () => {
    const r = await cli([
      'test-rule',
      '--sql',
      'SELECT payload.temp AS t FROM "sensors/#"',
      '--context',
      '{"topic":"t/1","payload":{"temp":1}}',
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^no result: .*t\/1.*sensors\/#/);
  });
});
