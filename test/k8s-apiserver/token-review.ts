import { failure, type KubeStatus } from "./status.ts";

/** Where kube-apiserver serves TokenReview (create only). */
export const TOKEN_REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews";

/** Who a registered token authenticates as, as the real token authenticator would report it. */
export interface TokenUser {
  username: string;
  uid?: string;
  groups?: string[];
  /** The token's audiences (a projected token's `aud`); default: the API server's, accepted for any review without `spec.audiences`. */
  audiences?: string[];
}

/** The tokens the double's authenticator knows; tests register them (the real one verifies JWTs). */
export interface TokenRegistry {
  /** Registers `token` for a service account `system:serviceaccount:<ns>:<sa>`, as a projected token would. */
  registerServiceAccountToken(
    token: string,
    namespace: string,
    serviceAccount: string,
    audiences?: string[],
  ): void;
  register(token: string, user: TokenUser): void;
  /** Forgets a token (a deleted service account or an expired token). */
  revoke(token: string): void;
}

/**
 * `POST /apis/authentication.k8s.io/v1/tokenreviews`, as kube-apiserver answers it: 201 with the
 * review and its `status` — `authenticated: true` with the user and audiences for a known token,
 * otherwise no `authenticated` and an `error`. A token with audiences is authenticated only for a
 * review whose `spec.audiences` intersect them. Not kept: a TokenReview is never stored.
 */
export function createTokenReviews(): TokenRegistry & {
  review(body: string): { code: number; body: object };
} {
  const tokens = new Map<string, TokenUser>();
  return {
    register(token, user) {
      tokens.set(token, user);
    },
    registerServiceAccountToken(token, namespace, serviceAccount, audiences) {
      tokens.set(token, {
        username: `system:serviceaccount:${namespace}:${serviceAccount}`,
        uid: crypto.randomUUID(),
        groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
        ...(audiences ? { audiences } : {}),
      });
    },
    revoke(token) {
      tokens.delete(token);
    },
    review(text) {
      let sent: { apiVersion?: unknown; kind?: unknown; spec?: { token?: unknown; audiences?: unknown } };
      try {
        sent = JSON.parse(text);
      } catch (error) {
        return invalid(failure(400, "BadRequest", `invalid JSON body: ${(error as Error).message}`));
      }
      if (sent.kind !== "TokenReview" || typeof sent.spec?.token !== "string" || sent.spec.token === "") {
        return invalid(
          failure(
            422,
            "Invalid",
            'TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value',
          ),
        );
      }
      const wanted = Array.isArray(sent.spec.audiences) ? (sent.spec.audiences as string[]) : [];
      const user = tokens.get(sent.spec.token);
      const review = (status: object) => ({
        code: 201,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          metadata: { creationTimestamp: null },
          spec: sent.spec,
          status,
        },
      });
      if (!user)
        return review({ user: {}, error: "[invalid bearer token, service account token is not valid]" });
      const audiences = user.audiences ?? [];
      const granted = wanted.length === 0 ? audiences : wanted.filter((a) => audiences.includes(a));
      if (wanted.length > 0 && granted.length === 0) {
        return review({
          user: {},
          error: `[invalid bearer token, token audiences ${JSON.stringify(audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]`,
        });
      }
      const { audiences: _, ...identity } = user;
      return review({
        authenticated: true,
        user: identity,
        ...(granted.length ? { audiences: granted } : {}),
      });
    },
  };
}

function invalid(status: KubeStatus) {
  return { code: status.code, body: status };
}
