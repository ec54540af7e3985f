// ESLint flat config. Besides the TypeScript rules it enforces the module boundaries of
// CONVENTIONS.md: who may import whom inside src/, and which third-party packages each module owns.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Deep imports into another module (anything but its index) are forbidden everywhere. */
const deepImport = (mod) => ({
  group: [`**/${mod}/*`, `!**/${mod}/index.js`],
  message: `Import ${mod} through its index.ts only.`,
});

/** Third-party package → the module(s) that may import it. */
const owned = {
  chevrotain: 'sql-parser',
  aedes: 'broker',
  kafkajs: ['sinks/kafka', 'sources'],
  kerberos: 'sinks/kafka',
  '@grpc/grpc-js': 'sinks/hstream',
  '@grpc/proto-loader': 'sinks/hstream',
  re2js: 'runtime',
  'typed-ocpp': 'ocpp',
  'ajv-formats': ['ocpp', 'schema-registry'],
  'ajv-draft-04': ['ocpp', 'schema-registry'],
  avsc: 'schema-registry',
  protobufjs: ['schema-registry', 'sinks/hstream'],
};

/** Every module of src/ (CONVENTIONS.md "Who may import whom"). */
const MODULES = [
  'core',
  'sql-parser',
  'runtime',
  'broker',
  'ocpp',
  'api',
  'config',
  'cli',
  'engine',
  'sinks/runner',
  'sinks/kafka',
  'sinks/hstream',
  'sinks/republish',
  'sinks/console',
  'sinks/memory',
  'sources',
  'schema-registry',
];

/** Import patterns naming module `m` (from anywhere, and from a sibling sink folder). */
function patternsFor(m) {
  const group = [`**/${m}`, `**/${m}/*`, `**/${m}/**`];
  if (m.startsWith('sinks/')) {
    const leaf = m.slice('sinks/'.length);
    group.push(`../${leaf}`, `../${leaf}/**`);
  }
  return group;
}

/** Build the restricted-import rule for files of one module. */
function boundary(self, forbiddenModules) {
  const paths = Object.entries(owned)
    .map(([name, owner]) => [name, [owner].flat()])
    .filter(([, owners]) => !owners.includes(self))
    .map(([name, owners]) => ({
      name,
      message: `${name} may only be imported in ${owners.map((o) => `src/${o}`).join(' or ')}.`,
    }));
  const forbidden = forbiddenModules.flatMap((m) =>
    m === 'sinks' ? MODULES.filter((x) => x.startsWith('sinks/') && x !== self) : [m],
  );
  const patterns = [
    ...forbidden.map((m) => ({
      group: patternsFor(m),
      message: `src/${self} may not import src/${m} (see CONVENTIONS.md "Who may import whom").`,
    })),
    ...MODULES.filter((m) => m !== self && !forbidden.includes(m)).map(deepImport),
  ];
  return {
    files: [`src/${self}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
  };
}

/** Modules nothing below the composition root may import. */
const TOP = ['api', 'config', 'cli', 'engine'];
/** What a sink folder may not import besides the other sinks (it may use sinks/runner). */
const SINK_FORBIDS = [
  'sources',
  'sql-parser',
  'runtime',
  'broker',
  'ocpp',
  'schema-registry',
  ...TOP,
];
const otherSinks = (self) =>
  MODULES.filter((m) => m.startsWith('sinks/') && m !== self && m !== 'sinks/runner');

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '**/*.generated.ts',
      '.services/**',
      '.cache/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  boundary('core', [
    'sources',
    'sql-parser',
    'runtime',
    'broker',
    'ocpp',
    'schema-registry',
    'sinks',
    ...TOP,
  ]),
  boundary('sql-parser', [
    'sources',
    'runtime',
    'broker',
    'ocpp',
    'schema-registry',
    'sinks',
    ...TOP,
  ]),
  boundary('runtime', ['sources', 'broker', 'ocpp', 'schema-registry', 'sinks', ...TOP]),
  boundary('broker', [
    'sources',
    'sql-parser',
    'runtime',
    'ocpp',
    'schema-registry',
    'sinks',
    ...TOP,
  ]),
  boundary('ocpp', [
    'sources',
    'sql-parser',
    'runtime',
    'broker',
    'schema-registry',
    'sinks',
    ...TOP,
  ]),
  boundary('config', [
    'sources',
    'runtime',
    'broker',
    'ocpp',
    'schema-registry',
    'sinks',
    'api',
    'cli',
    'engine',
  ]),
  boundary('api', [
    'sources',
    'sql-parser',
    'broker',
    'ocpp',
    'schema-registry',
    'sinks',
    'config',
    'cli',
    'engine',
  ]),
  boundary('engine', ['cli', 'api']),
  boundary('sources', [
    'sql-parser',
    'runtime',
    'broker',
    'ocpp',
    'schema-registry',
    'sinks',
    ...TOP,
  ]),
  boundary('cli', ['sinks', 'ocpp', 'sources']),
  // The schema registry (issue #16) sees only core; the engine wires it to the runtime and API.
  boundary('schema-registry', [
    'sources',
    'sql-parser',
    'runtime',
    'broker',
    'ocpp',
    'sinks',
    ...TOP,
  ]),
  boundary('sinks/runner', [
    ...SINK_FORBIDS,
    ...otherSinks('sinks/runner').filter((m) => m !== 'sinks/memory'),
  ]),
  ...['sinks/kafka', 'sinks/hstream', 'sinks/republish', 'sinks/console', 'sinks/memory'].map((s) =>
    boundary(s, [...SINK_FORBIDS, ...otherSinks(s)]),
  ),
);
