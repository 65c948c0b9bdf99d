import { WEBHOOK_CONFIGURATION_NAME } from "../../../control/injector/webhook-registration.ts";
import { WATCHED_KINDS } from "../../../control/k8s-adapter/kube-client.ts";
import { buildCustomResourceDefinition, ISTIO_KINDS } from "../crds/istio-crds.ts";
import { type InstallValues, MESH_NAMESPACE, PART_OF_LABEL } from "./values.ts";

/** A value path of {@link InstallValues}, as `.Values.<path>` in the Helm chart. */
export type ValuePath =
  | "image"
  | "clusterName"
  | "nats.image"
  | "nats.replicas"
  | "nats.storage"
  | "injector.enabled"
  | "injector.failurePolicy";

/**
 * Where the objects get their configurable values: a profile's values (plain manifests, `jibe install`)
 * or Helm placeholders (the chart's templates). `str`/`int` say what type the field has in the object.
 */
export interface ValueSource {
  str(path: ValuePath): string;
  int(path: ValuePath): number | string;
  /** The NATS replica count, or (templates) its value path. */
  natsReplicas(): number | string;
}

/** A group of objects: one Helm template file, present only when `condition` holds. */
export interface InstallComponent {
  name: string;
  condition?: ValuePath;
  objects: Record<string, unknown>[];
}

/** Reads values from a profile. */
export function concreteValues(values: InstallValues): ValueSource & { enabled(path: ValuePath): boolean } {
  const get = (path: ValuePath) => path.split(".").reduce<unknown>((o, k) => (o as never)[k], values);
  return {
    str: (path) => String(get(path)),
    int: (path) => Number(get(path)),
    natsReplicas: () => values.nats.replicas,
    enabled: (path) => !!get(path),
  };
}

export const CONTROL_PLANE = "jibe-control-plane";
/** The Secret the control plane keeps its signing key, admin token and webhook certificate in. */
export const STATE_SECRET = "jibe-control-plane-state";
export const NATS = "jibe-nats";
export const WEBHOOK_CONFIGURATION = WEBHOOK_CONFIGURATION_NAME;
export const ADMIN_PORT = 15000;
export const WEBHOOK_PORT = 15017;
/** Namespaces never injected, whatever their labels (the webhook is not even called for them). */
export const EXEMPT_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", MESH_NAMESPACE];

const meta = (name: string, component: string, namespaced = true) => ({
  name,
  ...(namespaced ? { namespace: MESH_NAMESPACE } : {}),
  labels: { ...PART_OF_LABEL, "app.kubernetes.io/component": component },
});

/**
 * Every object of an install, grouped into components, in apply order (namespace, CRDs, RBAC, NATS,
 * control plane, webhook). The same function builds the plain manifests and the Helm templates.
 *
 * @example
 * ```ts
 * const components = buildInstallComponents(concreteValues(PROFILES.demo));
 * ```
 */
export function buildInstallComponents(v: ValueSource): InstallComponent[] {
  return [
    {
      name: "namespace",
      objects: [{ apiVersion: "v1", kind: "Namespace", metadata: meta(MESH_NAMESPACE, "namespace", false) }],
    },
    { name: "crds", objects: ISTIO_KINDS.map(buildCustomResourceDefinition) },
    { name: "rbac", objects: adapterRbac() },
    { name: "state-rbac", objects: stateSecretRbac() },
    { name: "identity-rbac", objects: [tokenReviewBinding()] },
    { name: "injector-rbac", condition: "injector.enabled", objects: injectorRbac() },
    { name: "nats", objects: natsObjects(v) },
    { name: "control-plane", objects: controlPlaneObjects(v) },
    { name: "injector-webhook", condition: "injector.enabled", objects: [webhookConfiguration(v)] },
  ];
}

function binding(name: string) {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: meta(name, "rbac", false),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: [{ kind: "ServiceAccount", name: CONTROL_PLANE, namespace: MESH_NAMESPACE }],
  };
}

/**
 * Least privilege for the adapter (in the control plane): list/watch what it mirrors (every
 * WATCHED_KINDS entry), update only the status of the Istio kinds it judges and of Gateway API Gateways,
 * HTTPRoutes, GRPCRoutes, TCPRoutes and TLSRoutes, create Events.
 */
export function adapterRbac(): Record<string, unknown>[] {
  const groups = new Map<string, string[]>();
  for (const { group, plural } of Object.values(WATCHED_KINDS))
    groups.set(group, [...(groups.get(group) ?? []), plural]);
  const istio = [
    "virtualservices",
    "destinationrules",
    "workloadentries",
    "serviceentries",
    "sidecars",
    "gateways",
  ];
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(CONTROL_PLANE, "rbac") },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta("jibe-k8s-adapter", "rbac", false),
      rules: [
        ...[...groups].map(([group, resources]) => ({
          apiGroups: [group],
          resources,
          verbs: ["list", "watch"],
        })),
        {
          apiGroups: ["networking.istio.io"],
          resources: istio.map((p) => `${p}/status`),
          verbs: ["update"],
        },
        {
          apiGroups: ["gateway.networking.k8s.io"],
          resources: ["gateways", "httproutes", "grpcroutes", "tcproutes", "tlsroutes"].map(
            (plural) => `${plural}/status`,
          ),
          verbs: ["update"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["create"] },
      ],
    },
    binding("jibe-k8s-adapter"),
  ];
}

/**
 * The control plane's state Secret (control/plane/state-secret.ts): `get`/`update` on that one name;
 * `create` cannot be limited by name in RBAC (the name is not known at authorization), so it is
 * granted on Secrets of the mesh namespace only, as istiod's Role does for `istio-ca-secret`.
 */
function stateSecretRbac(): Record<string, unknown>[] {
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta("jibe-control-plane-state", "rbac"),
      rules: [
        { apiGroups: [""], resources: ["secrets"], resourceNames: [STATE_SECRET], verbs: ["get", "update"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta("jibe-control-plane-state", "rbac"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "jibe-control-plane-state" },
      subjects: [{ kind: "ServiceAccount", name: CONTROL_PLANE, namespace: MESH_NAMESPACE }],
    },
  ];
}

/**
 * The mesh CA checks each workload's service-account token with TokenReview: `create` on
 * `tokenreviews`, which Kubernetes' ClusterRole `system:auth-delegator` grants (as istiod's binding).
 */
function tokenReviewBinding(): Record<string, unknown> {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: meta("jibe-control-plane-auth-delegator", "rbac", false),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
    subjects: [{ kind: "ServiceAccount", name: CONTROL_PLANE, namespace: MESH_NAMESPACE }],
  };
}

/**
 * The injector writes its serving certificate into its own webhook configuration's caBundle, nothing
 * else; it reads a Namespace's labels when the adapter's cache does not have it yet.
 */
function injectorRbac(): Record<string, unknown>[] {
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta("jibe-injector", "rbac", false),
      rules: [
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["mutatingwebhookconfigurations"],
          resourceNames: [WEBHOOK_CONFIGURATION],
          verbs: ["get", "update"],
        },
        { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
      ],
    },
    binding("jibe-injector"),
  ];
}

/**
 * The NATS configuration every server of the StatefulSet reads: JetStream always; with more than one
 * server a cluster whose routes name every server (JetStream needs all its peers known to elect a
 * meta leader; a lone server with a cluster block would wait for peers forever). In the Helm
 * template (`replicas` a placeholder) the same text comes from `if`/`range` over `.Values.nats.replicas`.
 */
export function natsConfig(replicas: number | string): string {
  const head = [
    "# Jibe's bus: JetStream holds the config store (KV jibe-resources).",
    "server_name: $POD_NAME",
    "port: 4222",
    "http_port: 8222",
    "jetstream {",
    "  store_dir: /data/jetstream",
    "}",
  ];
  const route = (i: number | string) => `    nats://${NATS}-${i}.${NATS}.${MESH_NAMESPACE}.svc:6222`;
  const cluster = (routes: string[]) => [
    "cluster {",
    "  name: jibe",
    "  port: 6222",
    "  routes: [",
    ...routes,
    "  ]",
    "}",
  ];
  if (typeof replicas === "number")
    return [
      ...head,
      ...(replicas > 1 ? cluster(Array.from({ length: replicas }, (_, i) => route(i))) : []),
      "",
    ].join("\n");
  const count = `(int .Values.${replicas})`;
  return [
    ...head,
    `{{- if gt ${count} 1 }}`,
    ...cluster([`{{- range $i := until ${count} }}`, route("{{ $i }}"), "{{- end }}"]),
    "{{- end }}",
    "",
  ].join("\n");
}

const dropAll = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

function natsObjects(v: ValueSource): Record<string, unknown>[] {
  const selector = { "app.kubernetes.io/name": NATS };
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`${NATS}-config`, "nats"),
      data: { "nats.conf": natsConfig(v.natsReplicas()) },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(NATS, "nats"),
      spec: {
        clusterIP: "None",
        publishNotReadyAddresses: true, // servers must find each other before they are ready
        selector,
        ports: [
          { name: "tcp-client", port: 4222, targetPort: 4222, appProtocol: "tcp" },
          { name: "tcp-cluster", port: 6222, targetPort: 6222, appProtocol: "tcp" },
          { name: "http-monitor", port: 8222, targetPort: 8222, appProtocol: "http" },
        ],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta(NATS, "nats"),
      spec: {
        serviceName: NATS,
        replicas: v.int("nats.replicas"),
        podManagementPolicy: "Parallel",
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...selector, ...PART_OF_LABEL, "sidecar.jibe.dev/inject": "false" } },
          spec: {
            containers: [
              {
                name: "nats",
                image: v.str("nats.image"),
                args: ["--config", "/etc/nats/nats.conf"],
                env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                ports: [
                  { name: "client", containerPort: 4222 },
                  { name: "cluster", containerPort: 6222 },
                  { name: "monitor", containerPort: 8222 },
                ],
                readinessProbe: { httpGet: { path: "/healthz?js-enabled-only=true", port: 8222 } },
                livenessProbe: { httpGet: { path: "/healthz?js-enabled-only=true", port: 8222 } },
                securityContext: { ...dropAll, runAsUser: 1000 },
                volumeMounts: [
                  { name: "config", mountPath: "/etc/nats" },
                  { name: "data", mountPath: "/data" },
                ],
              },
            ],
            // The PVC must be writable by the non-root server.
            securityContext: { fsGroup: 1000 },
            volumes: [{ name: "config", configMap: { name: `${NATS}-config` } }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: v.str("nats.storage") } },
            },
          },
        ],
      },
    },
  ];
}

function controlPlaneObjects(v: ValueSource): Record<string, unknown>[] {
  const selector = { "app.kubernetes.io/name": CONTROL_PLANE };
  const env = (name: string, value: string) => ({ name, value });
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(CONTROL_PLANE, "control-plane"),
      spec: {
        selector,
        ports: [
          { name: "http-admin", port: ADMIN_PORT, targetPort: ADMIN_PORT, appProtocol: "http" },
          { name: "https-webhook", port: 443, targetPort: WEBHOOK_PORT, appProtocol: "https" },
        ],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(CONTROL_PLANE, "control-plane"),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...selector, ...PART_OF_LABEL, "sidecar.jibe.dev/inject": "false" } },
          spec: {
            serviceAccountName: CONTROL_PLANE,
            containers: [
              {
                name: "control-plane",
                image: v.str("image"),
                command: ["node", "control/plane/main.ts"],
                env: [
                  env("JIBE_NATS_URL", `nats://${NATS}.${MESH_NAMESPACE}.svc:4222`),
                  env("JIBE_ADMIN_URL", `http://0.0.0.0:${ADMIN_PORT}`),
                  // Scratch: the state that must survive a restart is in the Secret below.
                  env("JIBE_HOME", "/var/lib/jibe"),
                  env("JIBE_STATE_SECRET", STATE_SECRET),
                  {
                    name: "JIBE_NAMESPACE",
                    valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                  },
                  env("JIBE_K8S_CLUSTER", v.str("clusterName")),
                  env("JIBE_INJECTOR", v.str("injector.enabled")),
                  env("JIBE_INJECTOR_LISTEN", `0.0.0.0:${WEBHOOK_PORT}`),
                  env("JIBE_INJECTOR_DNS_NAME", `${CONTROL_PLANE}.${MESH_NAMESPACE}.svc`),
                  env("JIBE_PROXY_IMAGE", v.str("image")),
                ],
                ports: [
                  { name: "admin", containerPort: ADMIN_PORT },
                  { name: "webhook", containerPort: WEBHOOK_PORT },
                ],
                readinessProbe: { httpGet: { path: "/readyz", port: ADMIN_PORT } },
                livenessProbe: { httpGet: { path: "/healthz", port: ADMIN_PORT } },
                securityContext: { ...dropAll, runAsUser: 10001 },
                volumeMounts: [{ name: "home", mountPath: "/var/lib/jibe" }],
              },
            ],
            volumes: [{ name: "home", emptyDir: {} }],
          },
        },
      },
    },
  ];
}

function webhookConfiguration(v: ValueSource): Record<string, unknown> {
  const notExempt = { key: "kubernetes.io/metadata.name", operator: "NotIn", values: EXEMPT_NAMESPACES };
  const notOptedOut = [
    { key: "sidecar.jibe.dev/inject", operator: "NotIn", values: ["false"] },
    { key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] },
  ];
  const webhook = (name: string, namespaceExprs: object[], objectExprs: object[]) => ({
    name,
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    failurePolicy: v.str("injector.failurePolicy"),
    reinvocationPolicy: "Never",
    matchPolicy: "Equivalent",
    timeoutSeconds: 10,
    clientConfig: {
      service: { name: CONTROL_PLANE, namespace: MESH_NAMESPACE, path: "/inject", port: 443 },
    },
    rules: [
      {
        operations: ["CREATE"],
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["pods"],
        scope: "Namespaced",
      },
    ],
    namespaceSelector: { matchExpressions: [...namespaceExprs, notExempt] },
    objectSelector: { matchExpressions: objectExprs },
  });
  // Label selectors only AND their terms: three disjoint webhooks make "jibe OR istio namespace label OR pod label".
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: meta(WEBHOOK_CONFIGURATION, "injector", false),
    webhooks: [
      webhook(
        "namespace.sidecar-injector.jibe.dev",
        [{ key: "jibe-injection", operator: "In", values: ["enabled"] }],
        notOptedOut,
      ),
      webhook(
        "istio-namespace.sidecar-injector.jibe.dev",
        [
          { key: "istio-injection", operator: "In", values: ["enabled"] },
          { key: "jibe-injection", operator: "DoesNotExist" },
        ],
        notOptedOut,
      ),
      webhook(
        "object.sidecar-injector.jibe.dev",
        [
          { key: "jibe-injection", operator: "NotIn", values: ["enabled", "disabled"] },
          { key: "istio-injection", operator: "NotIn", values: ["enabled", "disabled"] },
        ],
        [{ key: "sidecar.jibe.dev/inject", operator: "In", values: ["true"] }],
      ),
    ],
  };
}
