// The Kubernetes examples as the tests see them: every document of every examples/kubernetes/*.yaml
// file, validated against the Kubernetes schemas by kind and apiVersion, and what a proxy
// container would start with (its environment and the files its volumes mount), so that the
// proxy's own configuration parser can be run on it.

import { readFileSync, readdirSync } from 'node:fs';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  Secret,
  Service,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
} from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

export const EXAMPLES_DIR = new URL('../../examples/kubernetes/', import.meta.url);

/** The kinds the examples may use; anything else fails the tests until it is added here. */
export const MODELS: ReadonlyMap<string, new (data: never) => { validate(): void }> = new Map<
  string,
  new (data: never) => { validate(): void }
>([
  ['apps/v1 Deployment', Deployment],
  ['v1 Service', Service],
  ['v1 ConfigMap', ConfigMap],
  ['v1 Secret', Secret],
  ['policy/v1 PodDisruptionBudget', PodDisruptionBudget],
]);

export interface Manifest {
  file: string;
  /** 0-based document index in the file. */
  index: number;
  /** `apiVersion kind`, the key of MODELS. */
  type: string;
  name: string;
  object: Record<string, unknown>;
}

export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
}

export function readExample(file: string): string {
  return readFileSync(new URL(file, EXAMPLES_DIR), 'utf8');
}

/**
 * Every document of a file as plain data. kubectl reads YAML 1.1 and most other tools 1.2; a
 * value the two read differently (`yes`, `0440`, `1:30`) fails here rather than in a cluster.
 */
export function parseManifests(file: string, text: string): Manifest[] {
  const read = (version: '1.1' | '1.2'): unknown[] =>
    parseAllDocuments(text, { version, prettyErrors: false }).map((doc, i) => {
      const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
      if (problems.length > 0) throw new Error(`${file} #${i}: ${problems.join('; ')}`);
      return doc.toJS() as unknown;
    });
  const v12 = read('1.2');
  const v11 = read('1.1');
  if (JSON.stringify(v11) !== JSON.stringify(v12)) {
    throw new Error(`${file}: YAML 1.1 and 1.2 read it differently`);
  }
  return v12.map((doc, index) => {
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new Error(`${file} #${index}: not an object`);
    }
    const object = doc as Record<string, unknown>;
    const metadata = object.metadata as { name?: unknown } | undefined;
    return {
      file,
      index,
      type: `${String(object.apiVersion)} ${String(object.kind)}`,
      name: typeof metadata?.name === 'string' ? metadata.name : '',
      object,
    };
  });
}

export function allManifests(): Manifest[] {
  return exampleFiles().flatMap((f) => parseManifests(f, readExample(f)));
}

export function ofType<T>(manifests: readonly Manifest[], type: string): T[] {
  return manifests.filter((m) => m.type === type).map((m) => m.object as T);
}

export function deployments(manifests: readonly Manifest[]): IDeployment[] {
  return ofType<IDeployment>(manifests, 'apps/v1 Deployment');
}

export function podSpec(d: IDeployment): IPodSpec {
  const spec = d.spec?.template.spec;
  if (spec === undefined) throw new Error(`${d.metadata?.name ?? '?'}: no pod spec`);
  return spec;
}

/** Regular and init containers (a native sidecar is an init container that keeps running). */
export function allContainers(spec: IPodSpec): IContainer[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

/** The proxy container: the one running the cql-proxy-ts image. */
export function proxyContainer(spec: IPodSpec): IContainer {
  const found = allContainers(spec).filter((c) => /\/cql-proxy-ts:/.test(c.image ?? ''));
  if (found.length !== 1) throw new Error(`expected one proxy container, found ${found.length}`);
  const [proxy] = found;
  if (proxy === undefined) throw new Error('unreachable');
  return proxy;
}

export function envValue(c: IContainer, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/** The port number behind a probe's or Service's port: a number, or a container port's name. */
export function containerPort(c: IContainer, port: number | string | undefined): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port);
  if (named === undefined) throw new Error(`${c.name}: no port named ${String(port)}`);
  return named.containerPort;
}

/** Stands in for every secret: the examples hold none, so tests need a value of the right shape. */
export const PLACEHOLDER_TOKEN = 'AstraCS:placeholder:0123456789abcdef0123456789abcdef';

export interface ContainerStart {
  env: Record<string, string>;
  /** Files mounted from Secret and ConfigMap volumes, by absolute path. */
  files: Map<string, string>;
  /** Paths mounted from Secret volumes. */
  secretFiles: Set<string>;
}

/**
 * What a container starts with: the image's environment, then the manifest's (secret references
 * become the placeholder, ConfigMap references their value), and the mounted files.
 */
export function containerStart(
  c: IContainer,
  spec: IPodSpec,
  manifests: readonly Manifest[],
  imageEnv: ReadonlyMap<string, string>,
): ContainerStart {
  const configMaps = new Map(
    ofType<IConfigMap>(manifests, 'v1 ConfigMap').map((cm) => [cm.metadata?.name, cm]),
  );
  const env: Record<string, string> = Object.fromEntries(imageEnv);
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef !== undefined) env[e.name] = PLACEHOLDER_TOKEN;
    else if (e.valueFrom?.configMapKeyRef !== undefined) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = configMaps.get(ref.name)?.data?.[ref.key];
      if (value === undefined) throw new Error(`${e.name}: no ConfigMap key ${ref.key}`);
      env[e.name] = value;
    }
  }
  const files = new Map<string, string>();
  const secretFiles = new Set<string>();
  for (const mount of c.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === mount.name);
    if (volume === undefined) throw new Error(`${c.name}: no volume ${mount.name}`);
    const at = (path: string): string => `${mount.mountPath.replace(/\/$/, '')}/${path}`;
    if (volume.secret !== undefined) {
      // Without `items` the file names are the Secret's keys, unknown here: list them instead.
      const items = volume.secret.items ?? [];
      if (items.length === 0) throw new Error(`${volume.name}: list the Secret's items`);
      for (const item of items) {
        files.set(at(item.path), PLACEHOLDER_TOKEN);
        secretFiles.add(at(item.path));
      }
    } else if (volume.configMap !== undefined) {
      const data = configMaps.get(volume.configMap.name)?.data ?? {};
      const items = volume.configMap.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const item of items) {
        const value = data[item.key];
        if (value === undefined) throw new Error(`${volume.name}: no ConfigMap key ${item.key}`);
        files.set(at(item.path), value);
      }
    }
  }
  return { env, files, secretFiles };
}
