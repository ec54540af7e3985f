/**
 * Imported first by the package entry (src/index.ts): on a Node.js older than the one Sluice
 * supports, importing the library fails with this message instead of a crash deep inside a
 * dependency (`Object.groupBy is not a function` on Node 20). bin/sluice.js has its own check,
 * which prints and exits instead of throwing.
 */
export const MIN_NODE = { major: 22, minor: 12 } as const;

/** The problem with running on `version` (process.versions.node), or undefined when it is fine. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor))
    return undefined;
  return (
    `sluice requires Node.js >= ${MIN_NODE.major}.${MIN_NODE.minor}; this is v${version}. ` +
    'Install a supported Node.js (22.12+ or 24 LTS), or run through npm scripts in a project that pins one.'
  );
}

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) throw new Error(problem);
