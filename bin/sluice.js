#!/usr/bin/env -S node --max-semi-space-size=8
// The `sluice` command. Compiled code lives in dist/ (built by `npm ci` through the `prepare` script).

// Sluice needs Node.js >= 22.12. The project pins Node 24 as a dev dependency, so `npx sluice` and
// `npm start` run on it; a bare `node bin/sluice.js` on an older system Node gets this message
// instead of a crash deep inside a dependency.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `sluice: Node.js >= 22.12 is required, this is ${process.version}.\n` +
      '  Run it through npm so the project\'s pinned Node 24 is used: `npx sluice …` or `npm start -- …`.',
  );
  process.exit(1);
}

const { main } = await import('../dist/cli/main.js');
main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  },
);
