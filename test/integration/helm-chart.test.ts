/**
 * The Helm chart (deploy/helm/sluice): `helm lint`, `helm template`, and a check of the
 * rendered manifests — the Kubernetes objects reference each other correctly (Service ↔
 * StatefulSet, ConfigMaps and Secret ↔ volumes and env), the pod runs non-root with probes,
 * drains within its grace period and is scraped by Prometheus, and the rendered sluice.yaml
 * plus rule files pass Sluice's own config validation (`checkConfig`, the same spec as the
 * JSON Schema). No cluster is used (docs/scale-out.md says what that leaves unverified).
 *
 * helm: `$SLUICE_HELM`, `helm` on PATH, or built once with
 * `go install helm.sh/helm/v3/cmd/helm@v3.21.4` into node_modules/.cache/helm. The test skips
 * with a printed reason only when neither helm nor Go is available.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';

import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

import { checkConfig } from '../../src/engine/index.js';

const root = path.resolve(import.meta.dirname, '../..');
const chart = path.join(root, 'deploy/helm/sluice');
const HELM_VERSION = 'v3.21.4';
const cacheBin = path.join(root, 'node_modules/.cache/helm');

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

function findHelm(): { helm?: string; reason?: string } {
  const candidates = [
    process.env['SLUICE_HELM'],
    which('helm'),
    path.join(cacheBin, 'helm'),
    path.join(process.env['GOPATH'] ?? path.join(homedir(), 'go'), 'bin/helm'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return { helm: c };
  const go =
    which('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) return { reason: 'neither helm nor Go is installed (go install builds helm)' };
  mkdirSync(cacheBin, { recursive: true });
  console.log(`[helm-chart] building helm ${HELM_VERSION} with go install (once)…`);
  execFileSync(go, ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
    env: { ...process.env, GOBIN: cacheBin, GOFLAGS: '-mod=mod' },
    stdio: 'inherit',
    timeout: 1_200_000,
  });
  return { helm: path.join(cacheBin, 'helm') };
}

const found = findHelm();
if (found.reason) console.log(`[helm-chart] SKIPPED: ${found.reason}`);

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

function render(...set: string[]): Obj[] {
  const out = execFileSync(
    found.helm!,
    ['template', 'rel', chart, ...set.flatMap((s) => ['--set', s])],
    { encoding: 'utf8' },
  );
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

const byKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);

describe.skipIf(!found.helm)('helm chart deploy/helm/sluice', () => {
  it('passes helm lint', () => {
    const r = spawnSync(found.helm!, ['lint', chart, '--strict'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toContain('0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders objects that reference each other and a pod that drains and is scraped', () => {
    const objs = render();
    for (const o of objs) {
      expect(o.apiVersion, JSON.stringify(o)).toMatch(/^(v1|apps\/v1|policy\/v1)$/);
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(objs.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'StatefulSet',
    ]);
    const sts = byKind(objs, 'StatefulSet')[0]!;
    const svc = byKind(objs, 'Service')[0]!;
    const spec = sts.spec as {
      serviceName: string;
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string>; annotations: Record<string, string> };
        spec: {
          terminationGracePeriodSeconds: number;
          securityContext: { runAsNonRoot: boolean; runAsUser: number };
          containers: {
            ports: { name: string; containerPort: number }[];
            env: { name: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
            envFrom: { secretRef: { name: string } }[];
            livenessProbe: Record<string, unknown>;
            readinessProbe: Record<string, unknown>;
            volumeMounts: { name: string; mountPath: string }[];
          }[];
          volumes: { name: string; configMap?: { name: string } }[];
        };
      };
    };
    expect(spec.serviceName).toBe(svc.metadata.name);
    expect(spec.replicas).toBe(3);
    expect(spec.template.metadata.labels).toMatchObject(spec.selector.matchLabels);
    expect((svc.spec as { selector: Record<string, string> }).selector).toEqual(
      spec.selector.matchLabels,
    );
    const pdb = byKind(objs, 'PodDisruptionBudget')[0]!.spec as {
      selector: { matchLabels: Record<string, string> };
      maxUnavailable: number;
    };
    expect(pdb.selector.matchLabels).toEqual(spec.selector.matchLabels);
    expect(pdb.maxUnavailable).toBe(1);

    const pod = spec.template.spec;
    const c = pod.containers[0]!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef.fieldPath).toBe(
      'metadata.name',
    );
    expect(c.envFrom[0]!.secretRef.name).toBe(byKind(objs, 'Secret')[0]!.metadata.name);
    const cms = new Set(byKind(objs, 'ConfigMap').map((o) => o.metadata.name));
    for (const v of pod.volumes) if (v.configMap) expect(cms.has(v.configMap.name)).toBe(true);
    expect(c.volumeMounts.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(['/etc/sluice', '/etc/sluice/rules']),
    );
    expect(c.livenessProbe).toMatchObject({ tcpSocket: { port: 'api' } });
    // Readiness follows the source and the sinks (GET /api/v5/ready, answered without credentials).
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/api/v5/ready', port: 'api' } });
    const ann = spec.template.metadata.annotations;
    expect(ann).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(c.ports[0]!.containerPort),
      'prometheus.io/path': '/metrics',
    });
    expect(ann['checksum/config']).toMatch(/^[0-9a-f]{64}$/);

    // The rendered sluice.yaml and rule files are a valid Sluice configuration.
    const cfgMap = byKind(objs, 'ConfigMap').find((o) => o.data?.['sluice.yaml'])!;
    const rulesMap = byKind(objs, 'ConfigMap').find((o) => o !== cfgMap)!;
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-helm-'));
    try {
      writeFileSync(path.join(dir, 'sluice.yaml'), cfgMap.data!['sluice.yaml']!);
      mkdirSync(path.join(dir, 'rules'));
      for (const [f, sql] of Object.entries(rulesMap.data ?? {}))
        writeFileSync(path.join(dir, 'rules', f), sql);
      const report = checkConfig(path.join(dir, 'sluice.yaml'), {
        env: { POD_NAME: 'rel-sluice-0', MQTT_PASSWORD: 'x' },
      });
      expect(report.issues).toEqual([]);
      expect(report.rules).toBe(1);
      // Draining (shutdown.drain_timeout) fits in the grace period.
      const drain = /drain_timeout: (\d+)s/.exec(cfgMap.data!['sluice.yaml']!);
      expect(Number(drain![1])).toBeLessThan(pod.terminationGracePeriodSeconds);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses an existing Secret, and /api/v5/ready for readiness when the embedded broker runs', () => {
    const objs = render('existingSecret=creds', 'config.sources.mode=embedded');
    expect(byKind(objs, 'Secret')).toEqual([]);
    const pod = (
      byKind(objs, 'StatefulSet')[0]!.spec as never as {
        template: { spec: { containers: { envFrom: unknown[]; readinessProbe: unknown }[] } };
      }
    ).template.spec;
    expect(pod.containers[0]!.envFrom).toEqual([{ secretRef: { name: 'creds' } }]);
    expect(pod.containers[0]!.readinessProbe).toMatchObject({
      httpGet: { path: '/api/v5/ready', port: 'api' },
    });
  });
});
