/**
 * `sluice hash-password`: print the salted hash of a password in the stored format the
 * broker's user list accepts (`broker.users[].password_hash`, docs/broker.md):
 * `scrypt$N$r$p$salt$hash` (default) or `pbkdf2$sha256$iterations$salt$hash`; with
 * `--algorithm scram-sha-256` / `scram-sha-512` the SCRAM credential of `broker.scram.users[]`
 * (`scram-sha-256$iterations$salt$stored_key$server_key`, `--iterations`, default 4096).
 *
 * The password never comes from the command line (it would land in shell history and `ps`):
 * with `--password-stdin`, or when stdin is not a terminal, it is read from stdin (one trailing
 * line break removed); on a terminal it is asked for twice without echo.
 */
import { hashPassword, scramCredential } from '../broker/index.js';

export interface HashPasswordIo {
  /** All of stdin as text. */
  readStdin(): Promise<string>;
  /** Ask on the terminal without echo; undefined when stdin is not a terminal. */
  prompt?: ((question: string) => Promise<string>) | undefined;
}

export interface HashPasswordResult {
  readonly exitCode: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

export async function hashPasswordCommand(
  opts: { passwordStdin: boolean; algorithm?: string | undefined; iterations?: string | undefined },
  io: HashPasswordIo,
): Promise<HashPasswordResult> {
  const algorithm = opts.algorithm ?? 'scrypt';
  const ALGORITHMS = ['scrypt', 'pbkdf2', 'scram-sha-256', 'scram-sha-512'];
  if (!ALGORITHMS.includes(algorithm))
    return {
      exitCode: 64,
      stdout: [],
      stderr: [
        `sluice hash-password: --algorithm must be scrypt, pbkdf2, scram-sha-256 or scram-sha-512, not ${algorithm}`,
      ],
    };
  const scram = algorithm.startsWith('scram-');
  const iterations = opts.iterations === undefined ? undefined : Number(opts.iterations);
  if (iterations !== undefined && (!scram || !Number.isInteger(iterations) || iterations < 1))
    return {
      exitCode: 64,
      stdout: [],
      stderr: [
        'sluice hash-password: --iterations takes a whole number >= 1, with a scram-* algorithm',
      ],
    };
  let password: string;
  if (opts.passwordStdin || !io.prompt) {
    password = (await io.readStdin()).replace(/\r?\n$/, '');
  } else {
    password = await io.prompt('Password: ');
    const again = await io.prompt('Repeat password: ');
    if (again !== password)
      return { exitCode: 1, stdout: [], stderr: ['sluice hash-password: passwords differ'] };
  }
  if (password === '')
    return { exitCode: 1, stdout: [], stderr: ['sluice hash-password: the password is empty'] };
  const out = scram
    ? scramCredential(password, {
        algorithm: algorithm === 'scram-sha-512' ? 'sha512' : 'sha256',
        ...(iterations !== undefined ? { iterations } : {}),
      })
    : hashPassword(password, { algorithm: algorithm as 'scrypt' | 'pbkdf2' });
  return { exitCode: 0, stdout: [out], stderr: [] };
}

/** Read all of process.stdin. */
export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A no-echo terminal prompt on stderr (raw mode); undefined when stdin is not a TTY. */
export function terminalPrompt(): ((question: string) => Promise<string>) | undefined {
  const stdin = process.stdin;
  if (!stdin.isTTY) return undefined;
  return (question) =>
    new Promise((resolve, reject) => {
      process.stderr.write(question);
      let text = '';
      stdin.setRawMode(true);
      stdin.resume();
      stdin.setEncoding('utf8');
      const done = (err?: Error): void => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        process.stderr.write('\n');
        if (err) reject(err);
        else resolve(text);
      };
      const onData = (s: string): void => {
        for (const ch of s) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
          if (ch === '\u0003') return done(new Error('interrupted'));
          if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
          else text += ch;
        }
      };
      stdin.on('data', onData);
    });
}
