/**
 * The `$ npx sluice …` examples in README.md and docs/ are executed, so they cannot go stale:
 * every `test-rule` and help/version example runs through the CLI's `main` and must print
 * exactly the lines shown under it (other commands need files and are covered elsewhere:
 * the check samples by cli.test.ts, the example configs by the CLI suite).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const root = path.resolve(import.meta.dirname, '../..');

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'decisions') out.push(...markdownFiles(p));
    else if (e.name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** POSIX-shell words: single quotes, double quotes with \\" and \\\\, backslash-newline. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (line[i] !== '"') {
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
        cur += line[i++];
      }
      inWord = true;
    } else if (c === '\\' && line[i + 1] === '\n') i++;
    else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

interface Example {
  file: string;
  args: string[];
  expected: string[];
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const file of [path.join(root, 'README.md'), ...markdownFiles(path.join(root, 'docs'))]) {
    const text = readFileSync(file, 'utf8');
    for (const block of text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
      const lines = (block[1] as string).split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (!(lines[i] as string).startsWith('$ npx sluice ')) continue;
        let cmd = (lines[i] as string).slice('$ npx sluice '.length);
        while (cmd.endsWith('\\')) cmd = `${cmd}\n${lines[++i] ?? ''}`;
        const expected: string[] = [];
        while (i + 1 < lines.length && !(lines[i + 1] as string).startsWith('$ '))
          expected.push(lines[++i] as string);
        while (expected.length && expected[expected.length - 1] === '') expected.pop();
        const args = shellWords(cmd);
        if (args[0] === 'test-rule' || args[0] === '--version' || args[0] === '--help')
          out.push({ file: path.relative(root, file), args, expected });
      }
    }
  }
  return out;
}

describe('documented sluice examples', () => {
  const found = examples();
  it('finds the README and docs/cli.md test-rule examples', () => {
    expect(found.map((e) => e.file)).toEqual(expect.arrayContaining(['README.md', 'docs/cli.md']));
  });

  it.each(found.map((e) => [`${e.file}: sluice ${e.args.slice(0, 2).join(' ')}`, e] as const))(
    '%s prints what the docs show',
    async (_name, e) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(e.args, { out: (l) => out.push(l), err: (l) => err.push(l) });
      expect({ code, out, err }).toEqual({ code: 0, out: e.expected, err: [] });
    },
  );
});

describe('shellWords', () => {
  it('splits like a POSIX shell for the quoting the docs use', () => {
    expect(shellWords(`a 'b c' "d \\"e\\"" f\\\n  g`)).toEqual(['a', 'b c', 'd "e"', 'f', 'g']);
  });
});
