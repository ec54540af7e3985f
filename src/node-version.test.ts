import { describe, expect, it } from 'vitest';

import { nodeVersionProblem } from './node-version.js';

describe('nodeVersionProblem (the library entry refuses an unsupported Node clearly)', () => {
  it('accepts 22.12 and newer', () => {
    for (const v of ['22.12.0', '22.20.1', '23.0.0', '24.21.0', '26.1.0'])
      expect(nodeVersionProblem(v)).toBeUndefined();
  });
  it('names the required and the running version for older lines', () => {
    expect(nodeVersionProblem('20.20.2')).toBe(
      'sluice requires Node.js >= 22.12; this is v20.20.2. Install a supported Node.js (22.12+ or 24 LTS), or run through npm scripts in a project that pins one.',
    );
    expect(nodeVersionProblem('22.11.9')).toMatch(
      /^sluice requires Node.js >= 22.12; this is v22.11.9\./,
    );
  });
});
