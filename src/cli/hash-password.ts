/**
 * `sluice hash-password`: print the salted hash of a password in the stored format the
 * broker's user list accepts (`broker.users[].password_hash`, docs/broker.md):
 * `scrypt$N$r$p$salt$hash` (default) or `pbkdf2$sha256$iterations$salt$hash`.
 *
 * The password never comes from the command line (it would land in shell history and `ps`):
 * with `--password-stdin`, or when stdin is not a terminal, it is read from stdin (one trailing
 * line break removed); on a terminal it is asked for twice without echo.
 */
import { hashPassword } from '../broker/index.js';

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
  opts: { passwordStdin: boolean; algorithm?: string | undefined },
  io: HashPasswordIo,
): Promise<HashPasswordResult> {
  const algorithm = opts.algorithm ?? 'scrypt';
  if (algorithm !== 'scrypt' && algorithm !== 'pbkdf2')
    return {
      exitCode: 64,
      stdout: [],
      stderr: [`sluice hash-password: --algorithm must be scrypt or pbkdf2, not ${algorithm}`],
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
  return { exitCode: 0, stdout: [hashPassword(password, { algorithm })], stderr: [] };
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
