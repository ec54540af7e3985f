/**
 * A throwaway PKI for the broker security tests, built with the openssl CLI in a temp dir
 * (recipe: shared spec tls-auth.md §3): an EC P-256 root CA with an `openssl ca` database, a
 * server certificate whose AIA points at our loopback OCSP responder and whose CDP points at
 * our loopback CRL server, client certificates, a delegated OCSP responder (OCSPSigning EKU)
 * and a *forger*: a CA-issued leaf without OCSPSigning.
 *
 * The OCSP responder is real openssl: each POSTed request is answered by
 * `openssl ocsp -index … -reqin … -respout …` behind a Node HTTP server bound to 127.0.0.1.
 * `startOcspDaemon()` also runs the long-lived `openssl ocsp -port` responder. It binds the
 * wildcard address, so it runs in a private network namespace (`unshare -n`, loopback only);
 * a small bridge inside the namespace exposes it on a Unix socket in the PKI directory, and
 * mode `daemon` of the loopback HTTP server forwards /ocsp requests there
 * (docs/security.md "Testing").
 * Every child runs through async execFile (a sync call would deadlock the TLS server, §4.9).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const CNF = `
[ca]
default_ca = CA_default
[CA_default]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:false
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:\${ENV::PKI_PORT}/ocsp
crlDistributionPoints = URI:http://127.0.0.1:\${ENV::PKI_PORT}/ca.crl
[client_ext]
basicConstraints = CA:false
extendedKeyUsage = clientAuth
authorityInfoAccess = OCSP;URI:http://127.0.0.1:\${ENV::PKI_PORT}/ocsp
crlDistributionPoints = URI:http://127.0.0.1:\${ENV::PKI_PORT}/ca.crl
[ocsp_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
noCheck = ignored
`;

export interface Pki {
  dir: string;
  port: number;
  url: string;
  pem(name: string): Promise<string>;
  path(name: string): string;
  /** Issue `<name>.crt/.key` with an extension section. */
  issue(name: string, ext: 'server_ext' | 'client_ext' | 'ocsp_ext'): Promise<void>;
  revoke(name: string): Promise<void>;
  /** Regenerate a CRL (PEM, default ca.crl) from the database; `extra` openssl ca args. */
  gencrl(out?: string, extra?: string[]): Promise<void>;
  /**
   * What the OCSP endpoint does: sign with openssl per request (`responder`), sign with a
   * forger, fail, or forward to the `openssl ocsp -port` daemon (`daemon`, after startOcspDaemon).
   */
  ocspMode: 'responder' | 'forger' | 'down' | 'daemon';
  /**
   * Start `openssl ocsp -port` in a private network namespace. Resolves the reason when the
   * host does not allow one (no `unshare -n`: not root, no user namespaces).
   */
  startOcspDaemon(): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Answers to /ocsp and /ca.crl served so far. */
  hits: { ocsp: number; crl: number };
  close(): Promise<void>;
}

/** Inside the namespace: Unix socket in the PKI directory → the daemon on the namespace's loopback. */
const BRIDGE = `import net from 'node:net';
import { readFileSync } from 'node:fs';
const [sock, port] = process.argv.slice(2);
// Wait until the daemon listens (a probe connection would hold the one-at-a-time daemon).
const hex = ':' + Number(port).toString(16).toUpperCase().padStart(4, '0');
const listening = () =>
  ['/proc/net/tcp', '/proc/net/tcp6'].some((f) => {
    try {
      return readFileSync(f, 'utf8').split('\\n').some((l) => {
        const c = l.trim().split(/\\s+/);
        return c[1]?.endsWith(hex) && c[3] === '0A';
      });
    } catch {
      return false;
    }
  });
const serve = () => net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u).pipe(c);
  u.on('error', () => c.destroy());
  c.on('error', () => u.destroy());
}).listen(sock, () => process.stdout.write('ready\\n'));
const wait = () => (listening() ? serve() : setTimeout(wait, 20));
wait();
`;
/** Any port: the daemon's namespace has nothing else in it. */
const DAEMON_PORT = 8080;

function viaSocket(socketPath: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/ocsp-request', 'content-length': body.length },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(parts) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function createPki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pki-'));
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const env = { ...process.env, PKI_PORT: String(port) };
  const ossl = (args: string[]) => run('openssl', args, { cwd: dir, env });
  await writeFile(join(dir, 'openssl.cnf'), CNF);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(join(dir, 'crlnumber'), '1000\n');
  await run('mkdir', ['-p', join(dir, 'newcerts')]);
  const key = (name: string) =>
    ossl([
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      `${name}.key`,
    ]);
  await key('ca');
  await ossl([
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '30',
    '-subj',
    '/CN=Sluice Test Root CA',
    '-config',
    'openssl.cnf',
    '-extensions',
    'v3_ca',
  ]);

  let seq = 0;
  let daemon: { child: ChildProcess; sock: string } | undefined;
  const pki: Pki = {
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    ocspMode: 'responder',
    hits: { ocsp: 0, crl: 0 },
    pem: (name) => readFile(join(dir, name), 'utf8'),
    path: (name) => join(dir, name),
    async issue(name, ext) {
      await key(name);
      await ossl([
        'req',
        '-new',
        '-key',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
        '-config',
        'openssl.cnf',
      ]);
      await ossl([
        'ca',
        '-batch',
        '-notext',
        '-config',
        'openssl.cnf',
        '-extensions',
        ext,
        '-in',
        `${name}.csr`,
        '-out',
        `${name}.crt`,
      ]);
    },
    async revoke(name) {
      await ossl([
        'ca',
        '-config',
        'openssl.cnf',
        '-revoke',
        `${name}.crt`,
        '-crl_reason',
        'keyCompromise',
      ]);
    },
    async gencrl(out = 'ca.crl', extra: string[] = []) {
      await ossl(['ca', '-config', 'openssl.cnf', '-gencrl', '-out', out, ...extra]);
    },
    async startOcspDaemon() {
      if (daemon) return { ok: true };
      const sock = join(dir, 'ocsp.sock');
      await writeFile(join(dir, 'bridge.mjs'), BRIDGE);
      const script = [
        'ip link set lo up || exit 97',
        `openssl ocsp -index index.txt -port ${DAEMON_PORT} -CA ca.crt -rsigner ocsp.crt -rkey ocsp.key -nmin 10 -ignore_err >>ocsp-daemon.log 2>&1 &`,
        `exec "${process.execPath}" bridge.mjs "${sock}" ${DAEMON_PORT}`,
      ].join('\n');
      const child = spawn('unshare', ['-n', 'sh', '-c', script], {
        cwd: dir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const ready = await new Promise<boolean>((resolve) => {
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('ready\n')) resolve(true);
        });
        child.once('exit', () => resolve(false));
        child.once('error', (e) => {
          err += e.message;
          resolve(false);
        });
      });
      if (!ready) return { ok: false, reason: `unshare -n failed: ${err.trim() || 'exited'}` };
      daemon = { child, sock };
      return { ok: true };
    },
    async close() {
      if (daemon?.child.pid !== undefined) {
        try {
          process.kill(-daemon.child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };

  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.url === '/ca.crl') {
          pki.hits.crl++;
          // CDPs serve DER; the broker must convert it to PEM for Node.
          const { stdout } = await run('openssl', ['crl', '-in', 'ca.crl', '-outform', 'DER'], {
            cwd: dir,
            encoding: 'buffer',
          });
          res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(stdout);
          return;
        }
        if (req.url?.startsWith('/ocsp') && req.method === 'POST') {
          pki.hits.ocsp++;
          if (pki.ocspMode === 'down') return void res.writeHead(503).end();
          if (pki.ocspMode === 'daemon') {
            if (!daemon) return void res.writeHead(503).end();
            const answer = await viaSocket(daemon.sock, Buffer.concat(chunks));
            res.writeHead(answer.status, { 'content-type': 'application/ocsp-response' });
            res.end(answer.body);
            return;
          }
          const n = ++seq;
          await writeFile(join(dir, `req${n}.der`), Buffer.concat(chunks));
          const signer = pki.ocspMode === 'forger' ? 'forger' : 'ocsp';
          await ossl([
            'ocsp',
            '-index',
            'index.txt',
            '-CA',
            'ca.crt',
            '-rsigner',
            `${signer}.crt`,
            '-rkey',
            `${signer}.key`,
            '-reqin',
            `req${n}.der`,
            '-respout',
            `resp${n}.der`,
            '-nmin',
            '10',
          ]);
          res
            .writeHead(200, { 'content-type': 'application/ocsp-response' })
            .end(await readFile(join(dir, `resp${n}.der`)));
          return;
        }
        res.writeHead(404).end();
      })().catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  });
  return pki;
}
