/**
 * Hashing, spec §8.9: `md5`, `sha`, `sha256` and `hash(Algo, Data)` → lower-case hex. Erlang
 * `crypto` names are mapped to Node's (`sha` → sha1, `sha3_256` → sha3-256, `blake2b` →
 * blake2b512, `blake2s` → blake2s256; SHAKE with Erlang's default output length: 128/256
 * bits). Any other digest name Node's OpenSSL offers (`crypto.getHashes()`) is accepted too.
 * `md4` is not available in OpenSSL 3 without the legacy provider; then a plain TypeScript
 * MD4 (md4.ts) is used. Any other unavailable digest is a clear BadArg, not a crash.
 */
import { createHash, getHashes } from 'node:crypto';
import type { FunctionDef, FunctionImpl } from './registry.js';
import { badArg } from './registry.js';
import { needBytes, needText, show } from './util.js';
import { md4Hex } from './md4.js';

const FAMILY = 'hash';

const ERLANG_NAMES: Readonly<Record<string, string>> = {
  md4: 'md4',
  md5: 'md5',
  sha: 'sha1',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  shake128: 'shake128',
  shake256: 'shake256',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

/** Resolve an algorithm name to a hashing function, or throw BadArg (unknown/unavailable). */
export function hasher(algo: string): (data: Buffer) => string {
  const node = ERLANG_NAMES[algo] ?? (getHashes().includes(algo) ? algo : undefined);
  if (node === undefined) return badArg(`hash: unknown hash algorithm ${show(algo)}`);
  try {
    createHash(node).update('').digest();
  } catch (e) {
    if (node === 'md4') return md4Hex; // OpenSSL 3 without the legacy provider
    return badArg(
      `hash: algorithm ${show(algo)} is not available in this Node/OpenSSL build (${(e as Error).message})`,
    );
  }
  return (data) => createHash(node).update(data).digest('hex');
}

function fixed(name: string, algo: string, result: string): FunctionDef {
  const h = hasher(algo);
  return {
    name,
    family: FAMILY,
    arity: { min: 1, max: 1 },
    signature: `${name}(Data)`,
    description: `${algo.toUpperCase()} digest of Data as lower-case hex.`,
    examples: [{ sql: `${name}('abc')`, result }],
    impl: (args) => h(needBytes(args[0], 'Data')),
    pure: true,
  };
}

export const hashFunctions: readonly FunctionDef[] = [
  fixed('md5', 'md5', '"900150983cd24fb0d6963f7d28e17f72"'),
  fixed('sha', 'sha', '"a9993e364706816aba3e25717850c26c9cd0d89d"'),
  fixed('sha256', 'sha256', '"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"'),
  {
    name: 'hash',
    family: FAMILY,
    arity: { min: 2, max: 2 },
    signature: 'hash(Algorithm, Data)',
    description:
      'Digest of Data as lower-case hex. Algorithm: `md4`, `md5`, `sha`/`sha1`, `sha224`, `sha256`, `sha384`, `sha512`, `sha3_224`, `sha3_256`, `sha3_384`, `sha3_512`, `shake128`, `shake256`, `blake2b`, `blake2s`, or any other digest name of Node’s OpenSSL; an unknown algorithm is an error.',
    examples: [
      { sql: "hash('sha1', 'abc')", result: '"a9993e364706816aba3e25717850c26c9cd0d89d"' },
      {
        sql: "hash('sha3_256', '')",
        result: '"a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"',
      },
      { sql: "hash('shake128', '')", result: '"7f9c2ba4e88f827d616045507605853e"' },
      { sql: "hash('md4', 'abc')", result: '"a448017aaf21d8525fc10ae87aa6729d"' },
    ],
    impl: (args) => hasher(needText(args[0], 'Algorithm'))(needBytes(args[1], 'Data')),
    specialize: ([algo]): FunctionImpl | undefined => {
      if (typeof algo === 'symbol') return undefined;
      const h = hasher(needText(algo, 'Algorithm'));
      return (args) => h(needBytes(args[1], 'Data'));
    },
    pure: true,
  },
];
