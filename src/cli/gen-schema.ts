/**
 * Generated artefacts of the configuration spec (CONVENTIONS.md #6, #11):
 *  - schema/sluice.schema.json — JSON Schema for editor completion (`npm run gen:schema`);
 *  - the reference tables of docs/config.md (between the GENERATED markers).
 * A test (gen-schema.test.ts) fails when either is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { configJsonSchema, configSpec, ruleSpec, testFileJsonSchema } from '../config/index.js';
import { describeFields } from '../core/index.js';
import type { FieldSpec } from '../core/index.js';
import { configParts } from '../engine/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCHEMA_FILE = path.join(root, 'schema/sluice.schema.json');
export const CONFIG_DOC = path.join(root, 'docs/config.md');
/** The format of rule test files (`sluice test`). */
export const TEST_SCHEMA_FILE = path.join(root, 'schema/sluice-test.schema.json');
const BEGIN = '<!-- BEGIN GENERATED: npm run gen:schema -->';
const END = '<!-- END GENERATED -->';

export function renderSchema(): string {
  return JSON.stringify(configJsonSchema(configParts()), null, 2) + '\n';
}

export function renderTestSchema(): string {
  return JSON.stringify(testFileJsonSchema(), null, 2) + '\n';
}

function table(spec: FieldSpec, prefix = ''): string {
  const rows = describeFields(spec, prefix);
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| field | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| \`${r.path}\` | ${esc(r.type)} | ${r.default === '' ? '' : esc(r.default === 'required' || r.default === '—' ? r.default : `\`${r.default}\``)} | ${esc(r.description)}${r.example ? ` Example: \`${esc(r.example)}\`` : ''} |`,
    ),
  ].join('\n');
}

/** The generated reference section of docs/config.md. */
export function renderReference(): string {
  const parts = configParts();
  const top = configSpec(parts);
  const fields = top.kind === 'object' ? top.fields : {};
  const out: string[] = [BEGIN, '', '### Top level', ''];
  const simple: Record<string, FieldSpec> = {};
  for (const [k, f] of Object.entries(fields)) if (k !== 'broker' && k !== 'rules') simple[k] = f;
  out.push(table({ kind: 'object', fields: simple, description: '' }), '');
  out.push('### `broker`', '', table(fields['broker'] as FieldSpec, 'broker'), '');
  out.push('### `rules[]`', '', table(ruleSpec, 'rules[]'), '');
  out.push(
    '### Sink runner fields (every sink)',
    '',
    'Batching, retries, buffering and in-flight limits are handled by the shared sink runner;',
    'each sink accepts these fields next to its own.',
    '',
    table(parts.runnerSpec, 'sinks.<name>'),
    '',
  );
  for (const t of parts.sinkTypes) {
    out.push(
      `### Sink type \`${t.type}\``,
      '',
      t.spec.description,
      '',
      table(t.spec, 'sinks.<name>'),
      '',
    );
    if (t.runnerSpec)
      out.push(
        `Runner fields of \`${t.type}\` sinks (the same fields, with ${t.type}-specific defaults):`,
        '',
        table(t.runnerSpec, 'sinks.<name>'),
        '',
      );
  }
  out.push(END);
  return out.join('\n');
}

export function renderConfigDoc(current: string): string {
  const a = current.indexOf(BEGIN);
  const b = current.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/config.md lacks the ${BEGIN} … ${END} markers`);
  return current.slice(0, a) + renderReference() + current.slice(b + END.length);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, renderSchema());
  writeFileSync(TEST_SCHEMA_FILE, renderTestSchema());
  writeFileSync(CONFIG_DOC, renderConfigDoc(readFileSync(CONFIG_DOC, 'utf8')));
  process.stdout.write(
    `wrote ${path.relative(root, SCHEMA_FILE)}, ${path.relative(root, TEST_SCHEMA_FILE)} and ${path.relative(root, CONFIG_DOC)}\n`,
  );
}
