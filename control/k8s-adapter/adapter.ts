import type { KubernetesObject, ListWatch } from "@kubernetes/client-node";
import type { ResourceRef } from "../../broker/events.ts";
import { type Logger, silentLogger } from "../../broker/logger.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import { isDns1123Label } from "../model/names.ts";
import { validateResource } from "../model/validate.ts";
import { canonicalJson } from "../plane/apply-plan.ts";
import type { ApplyOutcome, ApplyResult, ListFilter, ResourceView } from "../plane/types.ts";
import { describeRejection, statusWithVerdict, type Verdict } from "./accepted-condition.ts";
import { AdapterError } from "./errors.ts";
import { computeGatewayApiStatus } from "./gateway-api-status.ts";
import { mergeGatewayStatus, mergeRouteStatus } from "./gateway-api-status-merge.ts";
import {
  type KubeApi,
  kubeStatusCode,
  type StatusKind,
  WATCHED_KINDS,
  type WatchedKind,
} from "./kube-client.ts";
import {
  CLUSTER_ANNOTATION,
  isServedByJibe,
  type KubeObjectLike,
  type MeshDocument,
  PUBLISHED_KINDS,
  type PublishedKind,
  toMeshDocument,
  wireKind,
} from "./mesh-documents.ts";
import { createWorkQueue } from "./work-queue.ts";
import { deriveWorkloadEntries, POD_ANNOTATION } from "./workload-entries.ts";

/**
 * Where the adapter publishes: the control plane in-process (`createControlPlane`) or, from another
 * cluster, the admin API client (`createAdminClient`); both fit. Validation, signing, the config store
 * and the bus stay the control plane's job.
 */
export interface MeshWriter {
  apply(documents: readonly unknown[]): Promise<ApplyOutcome>;
  delete(ref: ResourceRef): Promise<ApplyResult>;
  list(filter?: ListFilter): Promise<ResourceView[]>;
}

export interface KubernetesAdapterOptions {
  kube: KubeApi;
  mesh: MeshWriter;
  /** This cluster's name (a DNS-1123 label): on every published resource and in derived workload names. */
  cluster: string;
  log?: Logger;
  /** First retry delay for failed informers and publishes; default 1000 ms. */
  retryDelayMs?: number;
  clock?: () => Date;
}

export interface AdapterStats {
  applied: number;
  deleted: number;
  rejected: number;
  watchErrors: number;
  retries: number;
}

export interface KubernetesAdapter {
  readonly stats: AdapterStats;
  /** Resolves once every change seen so far has been published (or is waiting for a retry no more). */
  idle(): Promise<void>;
  /** Labels of a Namespace from the informer cache (for the injector), undefined when there is no such Namespace. */
  namespaceLabels(name: string): Record<string, string> | undefined;
  stop(): Promise<void>;
}

const COMPONENT = "jibe-k8s-adapter";
const ISTIO_KINDS = new Set<string>([
  "VirtualService",
  "DestinationRule",
  "WorkloadEntry",
  "ServiceEntry",
  "Sidecar",
  "Gateway",
]);
/** Kinds whose changes can change Gateway API status (what attaches, what resolves). */
const GATEWAY_STATUS_INPUTS = new Set<string>([
  "KubernetesGateway",
  "HTTPRoute",
  "GRPCRoute",
  "TCPRoute",
  "TLSRoute",
  "ReferenceGrant",
  "Service",
  "GatewayClass",
  "Namespace",
]);
/** Cluster-scoped kinds the mesh stores under the namespace "default" (as `toMeshDocument` does). */
const CLUSTER_SCOPED = new Set<string>(["Namespace"]);
const GATEWAY_STATUS_KEY = "gateway-api-status";

/**
 * Mirrors one cluster into the mesh. Informers (client-node's list-then-watch, relisting on 410 Gone)
 * feed a level-triggered queue: VirtualServices, DestinationRules, WorkloadEntries and Services are
 * validated and applied as they are; EndpointSlices + Pods become one WorkloadEntry per ready Pod.
 * Invalid objects are never applied: Istio objects get an `Accepted=False` condition, every kind a
 * Warning Event, with the field-level reason. Resolves once the initial lists are published and
 * resources this cluster published earlier but no longer has are deleted.
 *
 * @example
 * ```ts
 * const adapter = await startKubernetesAdapter({
 *   kube: createKubeApi(loadKubeConfig({ inCluster: true })), mesh: plane, cluster: "east", log: console,
 * });
 * ```
 */
export async function startKubernetesAdapter(opts: KubernetesAdapterOptions): Promise<KubernetesAdapter> {
  const { kube, mesh, cluster } = opts;
  const log = opts.log ?? silentLogger;
  const clock = opts.clock ?? (() => new Date());
  const retryDelayMs = opts.retryDelayMs ?? 1000;
  if (!isDns1123Label(cluster)) {
    throw new AdapterError(
      "invalid-cluster-name",
      `cluster name "${cluster}" must be a DNS-1123 label, e.g. "east-1"`,
    );
  }
  const stats: AdapterStats = { applied: 0, deleted: 0, rejected: 0, watchErrors: 0, retries: 0 };
  const owned = new Set<string>(); // refs this cluster's adapter has in the mesh
  const derived = new Map<string, Map<string, string>>(); // namespace → derived WorkloadEntry name → content
  const reported = new Map<string, string>(); // key → rejection already sent as an Event
  let synced = false;
  let stopped = false;

  for (const view of await mesh.list()) {
    const annotations = view.resource.metadata.annotations ?? {};
    if (annotations[CLUSTER_ANNOTATION] !== cluster) continue;
    owned.add(refKey(view.ref));
    if (view.ref.kind === "WorkloadEntry" && annotations[POD_ANNOTATION] !== undefined)
      namespaceState(view.ref.namespace).set(view.ref.name, "");
  }

  const informers = {} as Record<WatchedKind, ListWatch<KubernetesObject>>;
  const queue = createWorkQueue(reconcile, { retryDelayMs, log });

  async function reconcile(key: string): Promise<void> {
    const [what, namespace = "", name = ""] = key.split("|");
    if (what === "workloads") return reconcileWorkloads(namespace);
    if (what === "gc") return collectGarbage();
    if (what === GATEWAY_STATUS_KEY) return reconcileGatewayApiStatus();
    return reconcilePublished(what as PublishedKind, namespace, name);
  }

  async function reconcilePublished(kind: PublishedKind, namespace: string, name: string): Promise<void> {
    const ref = { kind, namespace, name };
    const object = cached(kind, namespace, name);
    // Queued behind this publish, so the status is computed from what the mesh then holds.
    if (GATEWAY_STATUS_INPUTS.has(kind)) queue.add(GATEWAY_STATUS_KEY);
    if (!object || !isServedByJibe(kind, object)) return unpublish(ref);
    const document = toMeshDocument(kind, object, cluster);
    const rejection = await publish(document);
    await reportVerdict(
      kind,
      object,
      rejection ? { accepted: false, diagnostics: rejection } : { accepted: true },
    );
  }

  /** Applies a document; returns the diagnostics when it is invalid (then nothing was applied). */
  async function publish(document: MeshDocument): Promise<readonly Diagnostic[] | undefined> {
    const checked = validateResource(document);
    if (!checked.ok) return checked.diagnostics;
    try {
      const outcome = await mesh.apply([document]);
      for (const result of outcome.results) {
        owned.add(refKey(result.ref));
        if (result.action !== "unchanged") stats.applied += 1;
      }
      return undefined;
    } catch (error) {
      const diagnostics = (error as { code?: string; diagnostics?: Diagnostic[] }).diagnostics;
      if ((error as { code?: string }).code === "invalid" && diagnostics) return diagnostics;
      throw error;
    }
  }

  async function unpublish(ref: ResourceRef): Promise<void> {
    if (!owned.has(refKey(ref))) return; // never ours (rejected, or applied by someone else)
    try {
      await mesh.delete(ref);
      stats.deleted += 1;
    } catch (error) {
      if ((error as { code?: string }).code !== "not-found") throw error;
    }
    owned.delete(refKey(ref));
  }

  async function reportVerdict(kind: PublishedKind, object: KubeObjectLike, verdict: Verdict): Promise<void> {
    const key = `${kind}|${object.metadata?.namespace}|${object.metadata?.name}`;
    const rejection = verdict.accepted ? undefined : describeRejection(verdict.diagnostics);
    if (verdict.accepted) reported.delete(key);
    else stats.rejected += 1;
    let changed = rejection !== undefined && reported.get(key) !== rejection;
    if (ISTIO_KINDS.has(kind)) {
      const status = statusWithVerdict(object.status, object.metadata?.generation, verdict, clock());
      changed = status !== undefined && rejection !== undefined;
      if (status) await writeStatus(kind as "VirtualService", { ...object, status });
    }
    if (!changed || rejection === undefined) return;
    log.warn(`k8s adapter: ${key} not published: ${rejection}`);
    try {
      await kube.createEvent({
        involved: { apiVersion: PUBLISHED_KINDS[kind], kind: wireKind(kind), object },
        type: "Warning",
        reason: "Invalid",
        message: `not published to the mesh: ${rejection}`,
        component: COMPONENT,
        instance: cluster,
      });
    } catch (error) {
      // Events are best effort, as client-go's recorder makes them: the condition and the log carry the reason too.
      log.warn(`k8s adapter: could not record an Event for ${key}: ${String(error)}`);
    }
    reported.set(key, rejection);
  }

  /**
   * Gateway API status (gateway-api-status.ts) of every Jibe Gateway and of the Jibe parents of every
   * HTTPRoute, from what the mesh holds; written only where it differs from the current status.
   */
  async function reconcileGatewayApiStatus(): Promise<void> {
    if (!synced) return; // once, after the initial lists are published
    const routes = informers.HTTPRoute.list() as KubeObjectLike[];
    const others = {
      grpcRoutes: informers.GRPCRoute.list() as KubeObjectLike[],
      tcpRoutes: informers.TCPRoute.list() as KubeObjectLike[],
      tlsRoutes: informers.TLSRoute.list() as KubeObjectLike[],
    };
    const gateways = informers.KubernetesGateway.list() as KubeObjectLike[];
    if (routes.length + gateways.length + Object.values(others).flat().length === 0) return;
    const wanted = computeGatewayApiStatus({
      gatewayClasses: informers.GatewayClass.list() as KubeObjectLike[],
      gateways,
      routes,
      ...others,
      resources: (await mesh.list()).map((view) => view.resource),
    });
    const now = clock();
    for (const gateway of gateways) {
      const want = wanted.gateways.get(`${gateway.metadata?.namespace}/${gateway.metadata?.name}`);
      const status = want && mergeGatewayStatus(gateway.status, want, now);
      if (status) await writeStatus("KubernetesGateway", { ...gateway, status });
    }
    for (const route of routes) {
      const want = wanted.routes.get(`${route.metadata?.namespace}/${route.metadata?.name}`) ?? [];
      const status = mergeRouteStatus(route.status, want, now);
      if (status) await writeStatus("HTTPRoute", { ...route, status });
    }
    for (const [kind, list, want] of [
      ["GRPCRoute", others.grpcRoutes, wanted.grpcRoutes],
      ["TCPRoute", others.tcpRoutes, wanted.tcpRoutes],
      ["TLSRoute", others.tlsRoutes, wanted.tlsRoutes],
    ] as const)
      for (const route of list) {
        const parents = want.get(`${route.metadata?.namespace}/${route.metadata?.name}`) ?? [];
        const status = mergeRouteStatus(route.status, parents, now);
        if (status) await writeStatus(kind, { ...route, status });
      }
  }

  async function writeStatus(kind: StatusKind, object: KubeObjectLike): Promise<void> {
    try {
      await kube.replaceStatus(kind, object);
    } catch (error) {
      const code = kubeStatusCode(error);
      // A newer version (409) or a deletion (404) is already on its way through the informer.
      if (code === 409 || code === 404) return;
      // Other refusals (e.g. RBAC without */status) do not heal by retrying; the publish already happened.
      if (code !== undefined && code >= 400 && code < 500) {
        log.warn(`k8s adapter: status of ${kind}/${object.metadata?.name} refused (HTTP ${code})`);
        return;
      }
      throw error;
    }
  }

  async function reconcileWorkloads(namespace: string): Promise<void> {
    if (!synced) return; // derived once every Pod and slice of the initial lists is known
    const slices = informers.EndpointSlice.list(namespace);
    const documents = deriveWorkloadEntries(
      slices as never,
      (ns, name) => informers.Pod.get(name, ns) as never,
      cluster,
    );
    const state = namespaceState(namespace);
    const wanted = new Set<string>();
    for (const document of documents) {
      wanted.add(document.metadata.name);
      const content = canonicalJson(document);
      if (state.get(document.metadata.name) === content) continue;
      const rejection = await publish(document);
      if (rejection) {
        stats.rejected += 1;
        log.warn(
          `k8s adapter: derived ${document.metadata.name} not published: ${describeRejection(rejection)}`,
        );
        continue;
      }
      state.set(document.metadata.name, content);
    }
    for (const name of [...state.keys()]) {
      if (wanted.has(name)) continue;
      await unpublish({ kind: "WorkloadEntry", namespace, name });
      state.delete(name);
    }
  }

  /** Deletes what this cluster published before (e.g. while the adapter was down) and no longer has. */
  async function collectGarbage(): Promise<void> {
    for (const key of owned) {
      const [kind = "", namespace = "", name = ""] = key.split("|");
      if (derived.get(namespace)?.has(name) && kind === "WorkloadEntry") continue;
      if (kind in PUBLISHED_KINDS && !cached(kind as PublishedKind, namespace, name))
        queue.add(`${kind}|${namespace}|${name}`);
    }
  }

  function cached(kind: PublishedKind, namespace: string, name: string): KubeObjectLike | undefined {
    const scope = CLUSTER_SCOPED.has(kind) ? undefined : namespace;
    return informers[kind].get(name, scope) as KubeObjectLike | undefined;
  }

  function namespaceState(namespace: string): Map<string, string> {
    const state = derived.get(namespace) ?? new Map<string, string>();
    derived.set(namespace, state);
    return state;
  }

  for (const kind of Object.keys(WATCHED_KINDS) as WatchedKind[]) {
    const informer = kube.informer(kind);
    informers[kind] = informer;
    const enqueue = (object: KubernetesObject) => {
      const ns = CLUSTER_SCOPED.has(kind) ? "default" : (object.metadata?.namespace ?? "");
      if (kind === "EndpointSlice" || kind === "Pod") queue.add(`workloads|${ns}`);
      else if (kind === "GatewayClass") queue.add(GATEWAY_STATUS_KEY);
      else if (kind in PUBLISHED_KINDS) queue.add(`${kind}|${ns}|${object.metadata?.name ?? ""}`);
    };
    informer.on("add", enqueue);
    informer.on("update", enqueue);
    informer.on("delete", enqueue);
    let notServedLogged = false;
    informer.on("error", (error: unknown) => {
      stats.watchErrors += 1;
      // 404: the cluster does not serve the kind (e.g. no Gateway API CRDs); look again now and then, quietly.
      const notServed = kubeStatusCode(error) === 404;
      const delay = notServed ? retryDelayMs * 30 : retryDelayMs;
      if (!notServed)
        log.warn(`k8s adapter: ${kind} list/watch failed, retrying in ${delay} ms: ${String(error)}`);
      else if (!notServedLogged)
        log.info(
          `k8s adapter: the cluster does not serve ${kind} (its CRD is not installed); checking every ${delay} ms`,
        );
      notServedLogged ||= notServed;
      setTimeout(() => {
        if (!stopped) void informer.start();
      }, delay);
    });
  }

  await Promise.all(Object.values(informers).map((informer) => informer.start()));
  synced = true;
  const namespaces = new Set([
    ...derived.keys(),
    ...informers.EndpointSlice.list().map((s) => s.metadata?.namespace ?? ""),
  ]);
  for (const namespace of namespaces) queue.add(`workloads|${namespace}`);
  await queue.idle();
  queue.add("gc");
  queue.add(GATEWAY_STATUS_KEY);
  await queue.idle();
  log.info(`k8s adapter: cluster ${cluster} synced (${owned.size} resources in the mesh)`);

  return {
    get stats() {
      return { ...stats, retries: queue.retries };
    },
    idle: () => queue.idle(),
    namespaceLabels(name) {
      const namespace = informers.Namespace.get(name);
      return namespace ? { ...(namespace.metadata?.labels ?? {}) } : undefined;
    },
    async stop() {
      stopped = true;
      queue.stop();
      await Promise.all(Object.values(informers).map((informer) => informer.stop()));
    },
  };
}

function refKey(ref: ResourceRef): string {
  return `${ref.kind}|${ref.namespace}|${ref.name}`;
}
