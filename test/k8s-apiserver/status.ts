/** A `meta/v1 Status`, what kube-apiserver answers errors with (and sends in watch ERROR events). */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  code: number;
  details?: { causes?: { reason?: string; message: string; field?: string }[] };
}

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: KubeStatus["details"],
): KubeStatus {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
    ...(details ? { details } : {}),
  };
}

/** kube-apiserver's answer when a watch or exact list asks for history that was compacted. */
export function tooOldResourceVersion(requested: number, oldest: number): KubeStatus {
  return failure(410, "Expired", `too old resource version: ${requested} (${oldest})`);
}
