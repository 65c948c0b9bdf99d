import {
  type IstioLabelName,
  istioLabels,
  type RequestRecord,
  type WorkloadMetadata,
} from "../telemetry/index.ts";

/** Label sets remembered; distinct ones are few (services × codes × flags), this only bounds abuse. */
const MAX_LABEL_SETS = 2048;

const NO_PEER: WorkloadMetadata = Object.freeze({}) as WorkloadMetadata;

/**
 * {@link istioLabels} of a record, one shared (read-only) object for all records with the same
 * labels. Building 25 labels and the series key from them for every request is a measurable share
 * of a request's cost; here a request costs one short signature. The workloads are compared by
 * identity (this proxy's metadata is one object, peers' come from a cache of decoded headers), the
 * other fields `istioLabels` reads by value; a field read there must be part of the signature here.
 *
 * @example
 * ```ts
 * const labelsOf = createIstioLabelCache();
 * recordRequestMetrics(series, record, labelsOf);
 * ```
 */
export function createIstioLabelCache(): (record: RequestRecord) => Readonly<Record<IstioLabelName, string>> {
  let bySelf = new WeakMap<
    WorkloadMetadata,
    WeakMap<WorkloadMetadata, Map<string, Record<IstioLabelName, string>>>
  >();
  let size = 0;
  return (record) => {
    const service = record.destinationService;
    const signature = JSON.stringify([
      record.reporter,
      record.selfPrincipal,
      record.peerPrincipal,
      service.host,
      service.name,
      service.namespace,
      record.requestProtocol,
      record.responseCode,
      record.grpcStatus,
      record.responseFlags,
      record.connectionSecurityPolicy,
    ]);
    let byPeer = bySelf.get(record.self);
    let bySignature = byPeer?.get(record.peer ?? NO_PEER);
    const known = bySignature?.get(signature);
    if (known) return known;
    const labels = istioLabels(record);
    if (size >= MAX_LABEL_SETS) {
      bySelf = new WeakMap();
      size = 0;
      byPeer = undefined;
      bySignature = undefined;
    }
    if (!byPeer) {
      byPeer = new WeakMap();
      bySelf.set(record.self, byPeer);
    }
    if (!bySignature) {
      bySignature = new Map();
      byPeer.set(record.peer ?? NO_PEER, bySignature);
    }
    bySignature.set(signature, labels);
    size++;
    return labels;
  };
}
