// Fields the Kubernetes schema does not know. kubernetes-models validates types and enums but,
// like the API server's lenient decoding, lets unknown fields through, so `readinesProbe:` would
// pass and the probe would silently not exist. Its compiled validators read every property the
// schema defines (`data.livenessProbe`) and enumerate the keys of free-form maps (labels, data,
// limits); watching those reads through a Proxy tells, for each object, which keys the schema
// has. A key of the manifest the validator never read is unknown.

/** Paths (`/spec/template/spec/containers/0/readinesProbe`) of fields the schema does not have. */
export function unknownFields(model: { validate(): void }, manifest: unknown): string[] {
  const read = new Map<string, Set<string>>();
  const enumerated = new Set<string>();
  const record = (path: string, key: string): void => {
    let keys = read.get(path);
    if (keys === undefined) read.set(path, (keys = new Set()));
    keys.add(key);
  };
  const watch = (value: object, path: string): object =>
    new Proxy(value, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        if (!Array.isArray(target)) record(path, key);
        return typeof v === 'object' && v !== null ? watch(v, `${path}/${key}`) : v;
      },
      has(target, key) {
        if (typeof key === 'string') record(path, key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        enumerated.add(path);
        return Reflect.ownKeys(target);
      },
    });
  // validate() hands `this` to the compiled validator as is: `this` is the watched model.
  model.validate.call(watch(model, ''));

  const unknown: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}/${i}`));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        // An unknown field is reported once, not with everything under it.
        if (!enumerated.has(path) && read.get(path)?.has(key) !== true) {
          unknown.push(`${path}/${key}`);
        } else {
          walk(child, `${path}/${key}`);
        }
      }
    }
  };
  walk(manifest, '');
  return unknown;
}
