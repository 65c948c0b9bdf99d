import type { JWK } from "jose";
import type { EventFilter } from "../../broker/event-subscriber.ts";
import type { MeshEvent } from "../../broker/events.ts";
import type { Logger } from "../../broker/logger.ts";
import type { ProxyReport } from "../../broker/proxy-report.ts";
import type { CaAdmin } from "../../identity/ca-admin.ts";
import type { JwksCacheDeps } from "../../workers/engine/jwks-cache.ts";
import type { ControlPlane } from "../plane/types.ts";

/**
 * Types of the admin API: what the app is built from, and the wire shapes clients read
 * (`control/cli/admin-client.ts` imports them).
 *
 * @example
 * ```ts
 * const app = createAdminApp({ plane, token, events, trustJwks });
 * ```
 */
export type { EventFilter } from "../../broker/event-subscriber.ts";

/** A verified bus event as the SSE stream sends it (`data:`): the signed payload's fields plus the key id. */
export interface StreamedEvent {
  event: MeshEvent;
  /** Envelope id (unique per publish). */
  id: string;
  /** Signing time, ms since the epoch. */
  iat: number;
  /** Key that signed it. */
  kid: string;
}

/** Where the event stream comes from: verified events off the bus (see `broker/event-subscriber.ts`). */
export interface EventFeed {
  /** Resolves once the subscription is live (events published after that are delivered). */
  subscribe(filter: EventFilter, onEvent: (event: StreamedEvent) => void): Promise<{ stop(): void }>;
}

/** The answer of `GET /readyz`. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, string>;
}

export interface AdminAppOptions {
  plane: ControlPlane;
  /** The bearer token every `/api/v1` request must present. */
  token: string;
  events: EventFeed;
  /** Public keys that verify what the control plane signs (`GET /api/v1/trust`). */
  trustJwks: { keys: JWK[] };
  /** Readiness probe; default: always ready. */
  ready?: () => Promise<Readiness>;
  /** Prometheus text for `GET /stats/prometheus` (no token, like istiod's monitoring port): metrics pushed by edge proxies. */
  prometheus?: () => string;
  log?: Logger;
  /** Largest accepted request body. Default 1 MiB (a JetStream KV value is at most 1 MiB too). */
  maxBodyBytes?: number;
  /** Interval of SSE heartbeat comments. Default 15 s. */
  heartbeatMs?: number;
  /** Reports of the running proxies for `GET /api/v1/proxies` (gathered on the bus); absent: 404. */
  proxyReports?: () => Promise<ProxyReport[]>;
  /** The mesh CA for `/api/v1/ca` (status, root rotation); absent: 404. */
  ca?: CaAdmin;
  /** Fetches remote JWKS for `POST /authz/check` with a JWT; default: global `fetch`. */
  fetch?: JwksCacheDeps["fetch"];
}
