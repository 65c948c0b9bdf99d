import type { Verifier } from "../broker/envelope.ts";
import { type Refusal, refuse } from "./errors.ts";
import { readJoinToken } from "./join-token.ts";
import { parseWorkloadId, type WorkloadId } from "./spiffe-id.ts";

/**
 * Who may ask for which identity. A CSR request carries a {@link Credential}; an
 * {@link Authenticator} turns it into the one workload identity it grants. Two kinds:
 *
 * - `join-token`: a Jibe join token (see `join-token.ts`), for VMs and edge workers;
 * - `kubernetes`: a projected service-account token, checked by a {@link TokenReviewer} (the
 *   Kubernetes TokenReview API; `createTokenReviewer` in `token-review-client.ts` calls it).
 *
 * @example
 * ```ts
 * const authenticator = createAuthenticator({ joinTokens: verifier, clock: Date.now });
 * const result = await authenticator.authenticate({ type: "join-token", token });
 * if (result.ok) console.log(result.grant.namespace, result.grant.serviceAccount);
 * ```
 */
export type Credential = { type: "join-token"; token: string } | { type: "kubernetes"; token: string };

export type AuthResult = { ok: true; grant: WorkloadId } | Refusal;

export interface Authenticator {
  authenticate(credential: Credential): Promise<AuthResult>;
}

/** The part of Kubernetes TokenReview Jibe needs (`status.authenticated`, `status.user.username`). */
export interface TokenReviewer {
  review(token: string): Promise<{ authenticated: boolean; username?: string; error?: string }>;
}

export interface AuthenticatorOptions {
  /** Trusted control-plane keys for join tokens; omit to refuse join tokens. */
  joinTokens?: Verifier;
  /** TokenReview client; omit to refuse Kubernetes tokens. */
  kubernetes?: { reviewer: TokenReviewer; trustDomain: string };
  clock?: () => number;
  /** Verified join tokens kept (the same token comes back at every renewal). Default 10,000. */
  cacheSize?: number;
}

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const clock = opts.clock ?? Date.now;
  const cacheSize = opts.cacheSize ?? 10_000;
  // token → verified grant; expiry is re-checked on every use, only the signature check is saved.
  const verified = new Map<string, { grant: WorkloadId; expiresAt: number }>();

  const joinToken = async (token: string): Promise<AuthResult> => {
    if (!opts.joinTokens) return refuse("credential-unsupported", "this CA does not accept join tokens");
    const now = clock();
    const cached = verified.get(token);
    if (cached) {
      if (now < cached.expiresAt) return { ok: true, grant: cached.grant };
      verified.delete(token);
    }
    const read = await readJoinToken(opts.joinTokens, token, now);
    if (!read.ok) return read;
    if (verified.size >= cacheSize) verified.clear();
    verified.set(token, { grant: read.grant, expiresAt: read.expiresAt });
    return { ok: true, grant: read.grant };
  };

  const kubernetes = async (token: string): Promise<AuthResult> => {
    if (!opts.kubernetes) {
      return refuse("credential-unsupported", "this CA has no TokenReview access; use a join token");
    }
    const review = await opts.kubernetes.reviewer.review(token);
    if (!review.authenticated) {
      return refuse(
        "token-invalid",
        `service-account token rejected by TokenReview: ${review.error ?? "not authenticated"}`,
      );
    }
    const match = SERVICE_ACCOUNT_USER.exec(review.username ?? "");
    const id =
      match && parseWorkloadId(`spiffe://${opts.kubernetes.trustDomain}/ns/${match[1]}/sa/${match[2]}`);
    if (!id?.ok) {
      return refuse(
        "token-invalid",
        `TokenReview user ${JSON.stringify(review.username)} is not a service account`,
      );
    }
    return { ok: true, grant: id.id };
  };

  return {
    authenticate(credential) {
      switch (credential.type) {
        case "join-token":
          return joinToken(credential.token);
        case "kubernetes":
          return kubernetes(credential.token);
        default: {
          const unknown: never = credential;
          return Promise.resolve(
            refuse(
              "credential-unsupported",
              `credential type ${JSON.stringify((unknown as { type?: unknown }).type)}`,
            ),
          );
        }
      }
    },
  };
}
