import { z } from "zod";
import { InjectorError, isInjectorError } from "./errors.ts";
import { computeInjectionPatch, type InjectionOptions } from "./inject-pod.ts";
import type { NamespaceInfo, Pod } from "./pod.ts";

/** The parts of an AdmissionReview v1 request the injector needs. */
export interface PodAdmissionRequest {
  uid: string;
  namespace: string;
  /** Undefined when the request is not a Pod CREATE: the answer is then "allowed, unchanged". */
  pod: Pod | undefined;
}

/** An AdmissionReview v1 answer (`response` only, as the API server expects). */
export interface AdmissionReviewResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    patchType?: "JSONPatch";
    /** Base64 of the JSON patch. */
    patch?: string;
    status?: { code: number; reason: string; message: string };
  };
}

const Container = z.looseObject({ name: z.string().min(1) });
const PodShape = z.looseObject({
  metadata: z.looseObject({}).optional(),
  spec: z.looseObject({
    containers: z.array(Container).min(1),
    initContainers: z.array(Container).optional(),
  }),
});
const Review = z.object({
  apiVersion: z.literal("admission.k8s.io/v1"),
  kind: z.literal("AdmissionReview"),
  request: z.looseObject({
    uid: z.string().min(1),
    kind: z.looseObject({ group: z.string(), version: z.string(), kind: z.string() }),
    namespace: z.string().optional(),
    operation: z.string(),
    object: z.unknown().optional(),
  }),
});

/**
 * Reads an AdmissionReview v1 body. A Pod CREATE yields its Pod; anything else yields `pod:
 * undefined` (allowed unchanged: the webhook configuration should not send it, but a
 * misconfiguration must not block the cluster).
 *
 * @throws InjectorError `invalid-admission-review` naming the bad field.
 * @example
 * ```ts
 * const request = readAdmissionReview(JSON.parse(body));
 * ```
 */
export function readAdmissionReview(body: unknown): PodAdmissionRequest {
  const review = Review.safeParse(body);
  if (!review.success) {
    const issue = review.error.issues[0];
    throw new InjectorError(
      "invalid-admission-review",
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}; expected an admission.k8s.io/v1 AdmissionReview`,
    );
  }
  const { request } = review.data;
  const isPodCreate =
    request.kind.group === "" && request.kind.kind === "Pod" && request.operation === "CREATE";
  if (!isPodCreate) return { uid: request.uid, namespace: request.namespace ?? "", pod: undefined };
  const pod = PodShape.safeParse(request.object);
  if (!pod.success) {
    const issue = pod.error.issues[0];
    throw new InjectorError(
      "invalid-admission-review",
      `request.object.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}; expected a Pod`,
    );
  }
  const object = pod.data as Pod;
  return {
    uid: request.uid,
    namespace: request.namespace ?? object.metadata?.namespace ?? "default",
    pod: object,
  };
}

/**
 * The AdmissionReview answer for a Pod: allowed with the injection patch, allowed unchanged, or
 * denied (400) when a capture annotation is wrong (the message names it and the fix). Pure.
 *
 * @example
 * ```ts
 * const answer = answerAdmissionReview(request, { name: request.namespace, labels }, options);
 * ```
 */
export function answerAdmissionReview(
  request: PodAdmissionRequest,
  namespace: NamespaceInfo,
  opts: InjectionOptions,
): AdmissionReviewResponse {
  const review = (response: Omit<AdmissionReviewResponse["response"], "uid">): AdmissionReviewResponse => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: request.uid, ...response },
  });
  if (!request.pod) return review({ allowed: true });
  try {
    const result = computeInjectionPatch(request.pod, namespace, opts);
    if (!result.injected) return review({ allowed: true });
    const patch = toBase64(JSON.stringify(result.patch));
    return review({ allowed: true, patchType: "JSONPatch", patch });
  } catch (err) {
    if (!isInjectorError(err) || err.code !== "invalid-annotation") throw err;
    return review({ allowed: false, status: { code: 400, reason: "BadRequest", message: err.message } });
  }
}

function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
