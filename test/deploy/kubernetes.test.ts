// The Kubernetes examples, checked offline: every document validated against the Kubernetes
// schemas (kubernetes-models) with unknown fields refused, the proxy container's environment and
// mounted files run through the proxy's own configuration parser, and the properties that make
// the examples work: probes on the HTTP port the proxy really listens on, the token and the bundle
// from Secrets, the application reaching the proxy's address, non-root and read-only containers.

import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, IPodSpec, IProbe, IService } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { parseConfig } from '../../src/config/parse.js';
import { readDockerfile, stageEnv } from './dockerfile.js';
import {
  MODELS,
  PLACEHOLDER_TOKEN,
  allContainers,
  allManifests,
  containerPort,
  containerStart,
  deployments,
  envValue,
  exampleFiles,
  ofType,
  parseManifests,
  podSpec,
  proxyContainer,
  readExample,
  type Manifest,
} from './manifests.js';
import { unknownFields } from './schema-strict.js';

const manifests = allManifests();
const runtimeStage = readDockerfile().stages.at(-1);
const imageEnv = runtimeStage === undefined ? new Map<string, string>() : stageEnv(runtimeStage);

function inFile(file: string): Manifest[] {
  return manifests.filter((m) => m.file === file);
}

function model(m: Manifest): { validate(): void } {
  const Model = MODELS.get(m.type);
  if (Model === undefined) throw new Error(`${m.file}: no schema for ${m.type}`);
  return new Model(m.object as never);
}

/** The proxy's Config, parsed by the proxy itself from what its container starts with. */
function proxyConfig(file: string, spec: IPodSpec): Config {
  const proxy = proxyContainer(spec);
  const start = containerStart(proxy, spec, inFile(file), imageEnv);
  const result = parseConfig([...(proxy.args ?? [])], start.env, (path) => {
    const text = start.files.get(path);
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  });
  if (!('config' in result)) throw new Error(`${file}: ${JSON.stringify(result)}`);
  return result.config;
}

function only<T>(items: readonly T[], what: string): T {
  expect(items, what).toHaveLength(1);
  const [item] = items;
  if (item === undefined) throw new Error(`no ${what}`);
  return item;
}

function fileDeployment(file: string): IDeployment {
  return only(deployments(inFile(file)), `Deployment in ${file}`);
}

function matchesLabels(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = Object.entries(selector ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels?.[k] === v);
}

describe('examples/kubernetes: schemas', () => {
  it('has the sidecar and standalone examples', () => {
    expect(exampleFiles()).toStrictEqual(['sidecar.yaml', 'standalone.yaml']);
    expect(manifests.map((m) => `${m.file} ${m.type}`)).toStrictEqual([
      'sidecar.yaml apps/v1 Deployment',
      'standalone.yaml v1 ConfigMap',
      'standalone.yaml apps/v1 Deployment',
      'standalone.yaml v1 Service',
      'standalone.yaml policy/v1 PodDisruptionBudget',
    ]);
  });

  for (const m of manifests) {
    it(`${m.file} #${m.index} ${m.type} ${m.name}: valid, and no field unknown to the schema`, () => {
      expect(MODELS.has(m.type), m.type).toBe(true);
      expect(m.name).not.toBe('');
      const object = model(m);
      expect(() => object.validate()).not.toThrow();
      expect(unknownFields(object, m.object)).toStrictEqual([]);
    });
  }

  it('the checks are live: a misspelt field, a wrong type and a wrong enum are caught', () => {
    const deployment = manifests.find((m) => m.type === 'apps/v1 Deployment');
    if (deployment === undefined) throw new Error('no Deployment');
    const copy = (): Manifest => ({
      ...deployment,
      object: JSON.parse(JSON.stringify(deployment.object)) as Record<string, unknown>,
    });
    const container = (m: Manifest): Record<string, unknown> =>
      (m.object as unknown as { spec: { template: { spec: { containers: object[] } } } }).spec
        .template.spec.containers[0] as Record<string, unknown>;

    const typo = copy();
    container(typo).readinesProbe = { httpGet: { path: '/readiness', port: 8000 } };
    expect(unknownFields(model(typo), typo.object)).toStrictEqual([
      '/spec/template/spec/containers/0/readinesProbe',
    ]);

    const wrongType = copy();
    container(wrongType).ports = [{ containerPort: '8000' }];
    expect(() => model(wrongType).validate()).toThrow(/containerPort must be integer/);

    const wrongEnum = copy();
    container(wrongEnum).imagePullPolicy = 'Sometimes';
    expect(() => model(wrongEnum).validate()).toThrow(/imagePullPolicy/);
  });

  it('values read the same in YAML 1.1 (kubectl) and 1.2; a difference is caught', () => {
    for (const file of exampleFiles()) {
      expect(() => parseManifests(file, readExample(file))).not.toThrow();
    }
    expect(() => parseManifests('x.yaml', 'a: 0440\n')).toThrow(/read it differently/);
    expect(() => parseManifests('x.yaml', 'a: yes\n')).toThrow(/read it differently/);
  });

  it('hold no secret: no Secret object, no token, Secrets are made by kubectl', () => {
    expect(manifests.filter((m) => m.type === 'v1 Secret')).toStrictEqual([]);
    for (const file of exampleFiles()) {
      expect(readExample(file)).not.toMatch(/AstraCS:[A-Za-z0-9]/);
      expect(readExample(file)).toMatch(/kubectl create secret generic/);
    }
  });
});

describe('examples/kubernetes: every Deployment', () => {
  for (const m of manifests.filter((x) => x.type === 'apps/v1 Deployment')) {
    const d = m.object as unknown as IDeployment;
    const spec = podSpec(d);

    describe(`${m.file} ${m.name}`, () => {
      it('selects its own pods', () => {
        expect(matchesLabels(d.spec?.selector.matchLabels, d.spec?.template.metadata?.labels)).toBe(
          true,
        );
      });

      it('runs every container as non-root, read-only, without privileges, within limits', () => {
        expect(spec.securityContext?.runAsNonRoot).toBe(true);
        expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
        expect(spec.automountServiceAccountToken).toBe(false);
        for (const c of allContainers(spec)) {
          expect(c.securityContext, c.name).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(c.securityContext?.runAsUser ?? 1, c.name).not.toBe(0);
          for (const kind of ['requests', 'limits'] as const) {
            expect(Object.keys(c.resources?.[kind] ?? {}).sort(), `${c.name} ${kind}`).toEqual([
              'cpu',
              'memory',
            ]);
          }
        }
      });

      it("the proxy's configuration, as the proxy parses it, is valid and keeps health checks on", () => {
        const config = proxyConfig(m.file, spec);
        expect(config.healthCheck).toBe(true);
        // The kubelet probes through the pod's IP.
        expect(config.httpBind.host).toBe('0.0.0.0');
      });

      it('probes /readiness and /liveness over HTTP on the port the proxy serves them on', () => {
        const proxy = proxyContainer(spec);
        const config = proxyConfig(m.file, spec);
        const probes: [IProbe | undefined, string][] = [
          [proxy.readinessProbe, '/readiness'],
          [proxy.livenessProbe, '/liveness'],
        ];
        for (const [probe, path] of probes) {
          expect(probe?.httpGet?.path).toBe(path);
          expect(containerPort(proxy, probe?.httpGet?.port)).toBe(config.httpBind.port);
        }
        // Startup waits for the cluster: readiness, not liveness (the HTTP server starts first).
        expect(proxy.startupProbe?.httpGet?.path).toBe('/readiness');
        expect(containerPort(proxy, proxy.startupProbe?.httpGet?.port)).toBe(config.httpBind.port);
        expect(proxy.livenessProbe?.initialDelaySeconds ?? 0).toBe(0); // the startup probe guards it
      });

      it('takes the token from a Secret, by reference or as a mounted file, never inline', () => {
        const proxy = proxyContainer(spec);
        const start = containerStart(proxy, spec, inFile(m.file), imageEnv);
        const tokenEnv = proxy.env?.find((e) => e.name === 'ASTRA_TOKEN');
        const tokenFile = envValue(proxy, 'ASTRA_TOKEN_FILE');
        expect(tokenEnv !== undefined || tokenFile !== undefined).toBe(true);
        if (tokenEnv !== undefined) {
          expect(tokenEnv.value).toBeUndefined();
          expect(tokenEnv.valueFrom?.secretKeyRef?.key).toBeTruthy();
        }
        if (tokenFile !== undefined) expect(start.secretFiles.has(tokenFile)).toBe(true);
        for (const name of ['ASTRA_TOKEN', 'PASSWORD']) {
          expect(envValue(proxy, name), name).toBeUndefined();
        }
        expect(proxyConfig(m.file, spec).astraToken).toBe(PLACEHOLDER_TOKEN);
      });

      it('gives the pod time to drain: grace period above the drain timeout', () => {
        const config = proxyConfig(m.file, spec);
        expect((spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(
          config.drainTimeoutMs,
        );
      });
    });
  }
});

describe('examples/kubernetes/sidecar.yaml', () => {
  const d = fileDeployment('sidecar.yaml');
  const spec = podSpec(d);
  const proxy = proxyContainer(spec);
  // Parsed inside each test, so that a bad configuration fails tests rather than the collection.
  const config = (): Config => proxyConfig('sidecar.yaml', spec);
  const apps: IContainer[] = spec.containers.filter((c) => c !== proxy);

  it('runs the proxy as a native sidecar next to an application container', () => {
    expect(spec.initContainers).toContain(proxy);
    expect(proxy.restartPolicy).toBe('Always');
    expect(apps.length).toBeGreaterThan(0);
  });

  it("binds the proxy to the pod's loopback, where the application connects", () => {
    expect(envValue(proxy, 'BIND')).toBe('127.0.0.1:9042');
    expect(config().bind).toStrictEqual({ host: '127.0.0.1', port: 9042 });
    const values = apps.flatMap((c) => (c.env ?? []).map((e) => e.value));
    expect(values).toContain(`${config().bind.host}:${config().bind.port}`);
    // Nothing outside the pod should reach it: no CQL container port is declared.
    expect(proxy.ports?.map((p) => p.containerPort)).not.toContain(config().bind.port);
  });

  it('reads the bundle from a Secret volume, read-only', () => {
    const start = containerStart(proxy, spec, inFile('sidecar.yaml'), imageEnv);
    expect(config().astraBundle).toBe('/etc/astra/scb.zip');
    expect(start.secretFiles.has(config().astraBundle ?? '')).toBe(true);
    expect(proxy.volumeMounts?.every((v) => v.readOnly === true)).toBe(true);
    // The token goes by environment reference here (the standalone example uses a file).
    expect(proxy.env?.find((e) => e.name === 'ASTRA_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: 'astra-token',
      key: 'token',
    });
  });

  it('files from Secret volumes are readable by the proxy user (fsGroup and mode 0440)', () => {
    const fsGroup = spec.securityContext?.fsGroup;
    expect(fsGroup).toBe(spec.securityContext?.runAsGroup);
    for (const v of spec.volumes ?? []) {
      if (v.secret !== undefined) expect(v.secret.defaultMode).toBe(0o440);
    }
  });
});

describe('examples/kubernetes/standalone.yaml', () => {
  const file = 'standalone.yaml';
  const d = fileDeployment(file);
  const spec = podSpec(d);
  const proxy = proxyContainer(spec);
  const config = (): Config => proxyConfig(file, spec);
  const service = only(ofType<IService>(inFile(file), 'v1 Service'), 'Service');
  const pdb = only(
    ofType<IPodDisruptionBudget>(inFile(file), 'policy/v1 PodDisruptionBudget'),
    'PodDisruptionBudget',
  );
  const labels = d.spec?.template.metadata?.labels;

  it('listens on every interface of the pod', () => {
    expect(envValue(proxy, 'BIND')).toBe('0.0.0.0:9042');
    expect(config().bind).toStrictEqual({ host: '0.0.0.0', port: 9042 });
  });

  it('a ClusterIP Service on 9042 reaches the CQL port of the proxy pods', () => {
    expect(service.spec?.type).toBe('ClusterIP');
    expect(matchesLabels(service.spec?.selector, labels)).toBe(true);
    const cql = service.spec?.ports?.find((p) => p.port === 9042);
    expect(containerPort(proxy, cql?.targetPort)).toBe(config().bind.port);
    for (const p of service.spec?.ports ?? []) {
      expect(proxy.ports?.map((x) => x.containerPort)).toContain(
        containerPort(proxy, p.targetPort),
      );
    }
  });

  it('reads its settings from the ConfigMap file and the token from a Secret file', () => {
    expect(envValue(proxy, 'CONFIG_FILE')).toBe('/etc/cql-proxy/proxy.yaml');
    expect(config().astraDatabaseId).toMatch(/^[0-9a-f-]{36}$/);
    expect(config().unsupportedWriteConsistencies.length).toBeGreaterThan(0);
    expect(config().metrics).toBe(true);
    expect(envValue(proxy, 'ASTRA_TOKEN_FILE')).toBe('/etc/astra-token/token');
  });

  it('keeps some replicas through voluntary disruptions', () => {
    expect(matchesLabels(pdb.spec?.selector?.matchLabels, labels)).toBe(true);
    expect(pdb.spec?.minAvailable).toBeLessThan(d.spec?.replicas ?? 1);
    expect(d.spec?.replicas).toBeGreaterThan(1);
  });
});
