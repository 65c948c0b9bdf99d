import { AuthenticationV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { TokenReviewer } from "./authenticate.ts";

/** Options of {@link createTokenReviewer}. */
export interface TokenReviewerOptions {
  /**
   * Audiences the token must be valid for (`spec.audiences`), e.g. `["istio-ca"]` as Istio asks its
   * workloads to project; default none (the API server's own audience).
   */
  audiences?: string[];
}

/**
 * Node adapter: the Kubernetes TokenReview API (`authentication.k8s.io/v1`) as a
 * {@link TokenReviewer}. The CA posts each workload's service-account token and gets back whether
 * the API server authenticated it and as whom (`system:serviceaccount:<ns>:<sa>`), which the
 * authenticator then requires to match the CSR's SPIFFE ID. The CA's own service account needs
 * `create` on `tokenreviews` (ClusterRole `system:auth-delegator`). A failed call (API server
 * unreachable, 401/403) is reported as not authenticated with the reason, never as a grant.
 *
 * @example
 * ```ts
 * const reviewer = createTokenReviewer(loadKubeConfig({ inCluster: true }), { audiences: ["istio-ca"] });
 * await startIdentityService({ ..., tokenReviewer: reviewer });
 * ```
 */
export function createTokenReviewer(
  kubeConfig: KubeConfig,
  options: TokenReviewerOptions = {},
): TokenReviewer {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return {
    async review(token) {
      try {
        const review = await api.createTokenReview({
          body: {
            apiVersion: "authentication.k8s.io/v1",
            kind: "TokenReview",
            spec: { token, ...(options.audiences ? { audiences: options.audiences } : {}) },
          },
        });
        const status = review.status;
        if (!status?.authenticated) {
          return { authenticated: false, error: status?.error ?? "not authenticated" };
        }
        return {
          authenticated: true,
          ...(status.user?.username ? { username: status.user.username } : {}),
        };
      } catch (error) {
        return {
          authenticated: false,
          error: `TokenReview call failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
        };
      }
    },
  };
}
