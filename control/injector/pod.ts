/**
 * The slice of the Kubernetes Pod shape the injector reads and writes (core v1). Unknown fields are
 * kept as they are: the injector only ever emits JSON-patch operations for what it changes.
 *
 * @example
 * ```ts
 * const pod: Pod = { metadata: { name: "web", labels: { app: "web" } }, spec: { containers: [{ name: "web" }] } };
 * ```
 */
export interface Pod {
  metadata?: ObjectMeta;
  spec?: PodSpec;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  [field: string]: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
  [field: string]: unknown;
}

export interface HttpGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
  [field: string]: unknown;
}

export interface Probe {
  httpGet?: HttpGetAction;
  timeoutSeconds?: number;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  restartPolicy?: string;
  [field: string]: unknown;
}

/** The namespace a Pod is created in, as the webhook knows it (name + labels). */
export interface NamespaceInfo {
  name: string;
  labels: Readonly<Record<string, string>>;
}
