export { ACCEPTED_CONDITION, describeRejection, statusWithVerdict } from "./accepted-condition.ts";
export {
  type AdapterStats,
  type KubernetesAdapter,
  type KubernetesAdapterOptions,
  type MeshWriter,
  startKubernetesAdapter,
} from "./adapter.ts";
export { AdapterError, type AdapterErrorCode } from "./errors.ts";
export {
  createKubeApi,
  type KubeApi,
  type KubeConfigSource,
  loadKubeConfig,
  WATCHED_KINDS,
  type WatchedKind,
} from "./kube-client.ts";
export {
  CLUSTER_ANNOTATION,
  CLUSTER_LABEL,
  type MeshDocument,
  PUBLISHED_KINDS,
  type PublishedKind,
  toMeshDocument,
} from "./mesh-documents.ts";
export { deriveWorkloadEntries, POD_ANNOTATION } from "./workload-entries.ts";
