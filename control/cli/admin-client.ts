import type { JWK } from "jose";
import { JibeError } from "../../broker/errors.ts";
import type { ResourceRef } from "../../broker/events.ts";
import type { ProxyReport } from "../../broker/proxy-report.ts";
import type { CaStatus } from "../../identity/ca-admin.ts";
import type { AuthzCheckBody, AuthzCheckResult } from "../admin/authz-check.ts";
import type { AdminErrorCode, ErrorBody } from "../admin/http-errors.ts";
import type { ProxyStatus, ProxyStatusDetail } from "../admin/proxy-status.ts";
import type { RollbackOutcome } from "../admin/rollback-routes.ts";
import type { EventFilter, StreamedEvent } from "../admin/types.ts";
import type { Diagnostic } from "../compile/snapshot.ts";
import type {
  ApplyOutcome,
  ApplyResult,
  HistoryItem,
  ListFilter,
  ResourceView,
  ValidationReport,
} from "../plane/types.ts";
import { readSse } from "./sse-reader.ts";

/**
 * A typed client of the Jibe admin API (`control/admin/README.md`), for the CLI and any tool.
 * Only `fetch`: it runs in Node, browsers and workers alike.
 *
 * @example
 * ```ts
 * const admin = createAdminClient({ url: "http://127.0.0.1:15000", token });
 * const { results } = await admin.apply(yamlText);
 * for await (const { event } of admin.watch({ kind: "vs" })) console.log(event.type, event.revision);
 * ```
 */
export interface AdminClient {
  readonly url: string;
  health(): Promise<{ status: string }>;
  /** `input`: YAML/JSON text, or already-parsed documents. */
  apply(input: string | readonly unknown[], opts?: { dryRun?: boolean }): Promise<ApplyOutcome>;
  validate(input: string | readonly unknown[]): Promise<ValidationReport>;
  /** `kind` may be any alias the server resolves (`vs`, `virtualservices`). */
  list(filter?: ListFilter): Promise<ResourceView[]>;
  get(ref: ResourceRef): Promise<ResourceView>;
  delete(ref: ResourceRef): Promise<ApplyResult>;
  history(ref: ResourceRef): Promise<HistoryItem[]>;
  /** Re-applies the value kept at `revision` of the resource's history (`POST .../rollback`). */
  rollback(ref: ResourceRef, revision: number, opts?: { dryRun?: boolean }): Promise<RollbackOutcome>;
  trust(): Promise<{ keys: JWK[] }>;
  /** "May A call B with this request?", decided from the current policy (`POST /api/v1/authz/check`). */
  authzCheck(check: AuthzCheckBody): Promise<AuthzCheckResult>;
  /** What every running proxy reports: certificates, PeerAuthentication mode, observed mTLS (`GET /api/v1/proxies`). */
  proxies(): Promise<ProxyReport[]>;
  /** Per proxy: applied vs latest config, SYNCED / STALE / ... (`GET /api/v1/proxy-status`). */
  proxyStatus(): Promise<ProxyStatus[]>;
  /** One proxy's status and the resources changed after its revision (`GET /api/v1/proxy-status/:proxy`). */
  proxyStatusOf(proxy: string): Promise<ProxyStatusDetail>;
  /** The mesh CA: trust bundle roots, signing intermediate, rotation phase (`GET /api/v1/ca`). */
  caStatus(): Promise<CaStatus>;
  /** Starts a root rotation (`POST /api/v1/ca/rotate`); `settleSeconds` between trusting and signing. */
  caRotate(opts?: { settleSeconds?: number }): Promise<CaStatus>;
  /** Ends a root rotation: only the new root stays trusted (`POST /api/v1/ca/rotate/finish`). */
  caFinishRotation(): Promise<CaStatus>;
  /** Verified bus events as they happen. Ends when `signal` aborts; throws when the stream breaks. */
  watch(
    filter?: EventFilter,
    opts?: { signal?: AbortSignal; onSubscribed?: () => void },
  ): AsyncGenerator<StreamedEvent, void, undefined>;
}

/** The admin API answered with an error. */
export class AdminApiError extends JibeError<AdminErrorCode | "protocol"> {
  readonly status: number;
  readonly diagnostics: readonly Diagnostic[];
  readonly results: readonly ApplyResult[];

  constructor(
    status: number,
    code: AdminErrorCode | "protocol",
    message: string,
    extra: Partial<ErrorBody["error"]> = {},
  ) {
    super(code, message, { user: true });
    this.name = "AdminApiError";
    this.status = status;
    this.diagnostics = extra.diagnostics ?? [];
    this.results = extra.results ?? [];
  }
}

/** Nothing answered at the admin URL. */
export class AdminUnreachableError extends JibeError<"unreachable"> {
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super("unreachable", `cannot reach the Jibe admin API at ${url}`, { cause, user: true });
    this.name = "AdminUnreachableError";
    this.url = url;
  }
}

export interface AdminClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:15000`. */
  url: string;
  token?: string;
  fetch?: typeof fetch;
}

export function createAdminClient(opts: AdminClientOptions): AdminClient {
  const base = opts.url.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;

  async function send(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (opts.token) headers.set("authorization", `Bearer ${opts.token}`);
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new AdminUnreachableError(base, error);
    }
    if (!response.ok) throw await apiError(response);
    return response;
  }

  async function json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await send(path, init)).json()) as T;
  }

  function resourceBody(input: string | readonly unknown[]): RequestInit {
    return typeof input === "string"
      ? { method: "POST", body: input, headers: { "content-type": "application/yaml" } }
      : { method: "POST", body: JSON.stringify(input), headers: { "content-type": "application/json" } };
  }

  return {
    url: base,
    health: () => json("/healthz"),
    apply: (input, applyOpts = {}) =>
      json(`/api/v1/apply${applyOpts.dryRun ? "?dryRun=true" : ""}`, resourceBody(input)),
    validate: (input) => json("/api/v1/validate", resourceBody(input)),
    list: async (filter = {}) =>
      (await json<{ items: ResourceView[] }>(`/api/v1/resources${query({ ...filter })}`)).items,
    get: (ref) => json(resourcePath(ref)),
    delete: (ref) => json(resourcePath(ref), { method: "DELETE" }),
    history: async (ref) => (await json<{ items: HistoryItem[] }>(`${resourcePath(ref)}/history`)).items,
    rollback: (ref, revision, rollbackOpts = {}) =>
      json(`${resourcePath(ref)}/rollback${rollbackOpts.dryRun ? "?dryRun=true" : ""}`, {
        method: "POST",
        body: JSON.stringify({ revision }),
        headers: { "content-type": "application/json" },
      }),
    trust: () => json("/api/v1/trust"),
    proxies: async () => (await json<{ items: ProxyReport[] }>("/api/v1/proxies")).items,
    proxyStatus: async () => (await json<{ items: ProxyStatus[] }>("/api/v1/proxy-status")).items,
    proxyStatusOf: (proxy) => json(`/api/v1/proxy-status/${encodeURIComponent(proxy)}`),
    caStatus: () => json("/api/v1/ca"),
    caRotate: (rotateOpts = {}) =>
      json("/api/v1/ca/rotate", {
        method: "POST",
        body: JSON.stringify(rotateOpts),
        headers: { "content-type": "application/json" },
      }),
    caFinishRotation: () => json("/api/v1/ca/rotate/finish", { method: "POST" }),
    authzCheck: (check) =>
      json("/api/v1/authz/check", {
        method: "POST",
        body: JSON.stringify(check),
        headers: { "content-type": "application/json" },
      }),
    async *watch(filter = {}, watchOpts = {}) {
      const { signal } = watchOpts;
      let response: Response;
      try {
        response = await send(`/api/v1/events${query({ ...filter })}`, {
          headers: { accept: "text/event-stream" },
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
      if (!response.body)
        throw new AdminApiError(response.status, "protocol", "the event stream has no body");
      try {
        for await (const item of readSse(response.body)) {
          if (item.type === "comment") {
            if (item.text === "subscribed") watchOpts.onSubscribed?.();
          } else if (item.event === "error") {
            throw new AdminApiError(response.status, "unavailable", `the event stream failed: ${item.data}`);
          } else {
            yield parseStreamedEvent(item.data);
          }
        }
      } catch (error) {
        if (signal?.aborted) return;
        if (error instanceof AdminApiError) throw error;
        throw new AdminApiError(
          0,
          "unavailable",
          `the event stream from ${base} broke (${messageOf(error)})`,
        );
      }
      if (!signal?.aborted) {
        throw new AdminApiError(
          0,
          "unavailable",
          `the event stream from ${base} ended (control plane stopped?)`,
        );
      }
    },
  };
}

function parseStreamedEvent(data: string): StreamedEvent {
  try {
    return JSON.parse(data) as StreamedEvent;
  } catch {
    throw new AdminApiError(
      200,
      "protocol",
      `the event stream sent something that is not JSON: ${data.slice(0, 100)}`,
    );
  }
}

function messageOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return error instanceof Error ? `${error.message}${cause}` : String(error);
}

function resourcePath(ref: ResourceRef): string {
  const parts = [ref.kind, ref.namespace, ref.name].map(encodeURIComponent);
  return `/api/v1/resources/${parts.join("/")}`;
}

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function apiError(response: Response): Promise<AdminApiError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    if (error && typeof error.code === "string" && typeof error.message === "string") {
      return new AdminApiError(response.status, error.code, error.message, error);
    }
  } catch {
    // Not one of ours (a proxy in between?): report what came back.
  }
  return new AdminApiError(
    response.status,
    "protocol",
    `unexpected answer ${response.status} ${response.statusText}: ${text.slice(0, 200)}`,
  );
}
