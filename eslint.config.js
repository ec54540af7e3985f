// ESLint flat config. Besides the TypeScript rules it enforces the module boundaries of
// CONVENTIONS.md: who may import whom inside src/, and which third-party packages each module owns.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Deep imports into another module (anything but its index) are forbidden everywhere. */
const deepImport = (mod) => ({
  group: [`**/${mod}/*`, `!**/${mod}/index.js`],
  message: `Import ${mod} through its index.ts only.`,
});

const owned = {
  chevrotain: 'sql-parser',
  aedes: 'broker',
  kafkajs: 'sinks/kafka',
  kerberos: 'sinks/kafka',
  '@grpc/grpc-js': 'sinks/hstream',
  '@grpc/proto-loader': 'sinks/hstream',
};

/** Build the restricted-import rule for files of one module. */
function boundary(self, forbiddenModules) {
  const paths = Object.entries(owned)
    .filter(([, owner]) => owner !== self)
    .map(([name, owner]) => ({ name, message: `${name} may only be imported in src/${owner}.` }));
  const patterns = [
    ...forbiddenModules.map((m) => ({
      group: [`**/${m}`, `**/${m}/*`, `**/${m}/**`],
      message: `src/${self} may not import src/${m} (see CONVENTIONS.md "Who may import whom").`,
    })),
    ...['core', 'sql-parser', 'runtime', 'broker', 'ocpp', 'api', 'sinks/runner']
      .filter((m) => m !== self && !forbiddenModules.includes(m))
      .map(deepImport),
  ];
  return {
    files: [`src/${self}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.generated.ts', '.services/**', '.cache/**'] },
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
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  boundary('core', ['sql-parser', 'runtime', 'broker', 'ocpp', 'sinks']),
  boundary('sql-parser', ['runtime', 'broker', 'ocpp', 'sinks']),
  boundary('runtime', ['broker', 'ocpp', 'sinks']),
  boundary('broker', ['sql-parser', 'runtime', 'ocpp', 'sinks']),
  boundary('ocpp', ['sql-parser', 'runtime', 'broker', 'sinks']),
  boundary('api', ['sql-parser', 'broker', 'ocpp', 'sinks']),
  boundary('sinks/runner', ['sql-parser', 'runtime', 'broker', 'ocpp', 'sinks/kafka', 'sinks/hstream']),
  boundary('sinks/kafka', ['sql-parser', 'runtime', 'broker', 'ocpp', 'sinks/hstream']),
  boundary('sinks/hstream', ['sql-parser', 'runtime', 'broker', 'ocpp', 'sinks/kafka']),
);
