/**
 * The upstream model class of an apiVersion/kind: `kubernetes-models` for the Kubernetes API,
 * `@kubernetes-models/prometheus-operator` and `@kubernetes-models/keda` for the custom resources
 * we emit. Each class carries the validate function generated from its OpenAPI schema and runs it
 * with `@kubernetes-models/validate` (`new Deployment(obj).validate()`).
 *
 * The packages are ESM only and loading all of them takes seconds (1,800 schema modules), so a
 * model is imported on first use from the file its package exports for it
 * (`kubernetes-models/apps/v1/Deployment`): the lookup is asynchronous.
 */

export interface ModelClass {
  new (data: object): { validate(): void };
  apiVersion: string;
  kind: string;
}

/** API groups served by a package other than `kubernetes-models`. */
const GROUP_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'keda.sh': '@kubernetes-models/keda',
  'eventing.keda.sh': '@kubernetes-models/keda',
};

/** The module that exports the model of apiVersion/kind, or undefined if the names cannot be one. */
export function modelModule(apiVersion: string, kind: string): string | undefined {
  const parts = apiVersion.split('/');
  const [group, version] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
  if (parts.length > 2 || !/^[a-z0-9]+$/.test(version) || !/^[a-z0-9.-]*$/.test(group) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  const pkg = GROUP_PACKAGES[group] ?? 'kubernetes-models';
  return `${pkg}/${group ? `${group}/` : ''}${version}/${kind}`;
}

const cache = new Map<string, Promise<ModelClass | undefined>>();

/**
 * The model class of apiVersion/kind; undefined when no package has one (an unknown group, version
 * or kind, or a type that is not a top-level kind such as `DeploymentSpec`).
 */
export function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  let found = cache.get(key);
  if (!found) {
    found = load(apiVersion, kind);
    cache.set(key, found);
  }
  return found;
}

async function load(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const specifier = modelModule(apiVersion, kind);
  if (!specifier) return undefined;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
  const cls = mod[kind];
  // `kubernetes-models/apps/v1/DeploymentSpec` exists too, but it is no kind: it has no apiVersion.
  const names = cls as Partial<ModelClass> | undefined;
  return typeof cls === 'function' && names?.apiVersion === apiVersion && names.kind === kind ? (cls as ModelClass) : undefined;
}
