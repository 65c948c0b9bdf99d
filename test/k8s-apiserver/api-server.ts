import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createObjectStore, type KubeObject, type ObjectStore, StoreError } from "./object-store.ts";
import { type ApiTarget, parseApiPath } from "./request-path.ts";
import { apiVersionOf, discoveryDocument, typeForKind } from "./resource-types.ts";
import { failure, type KubeStatus, tooOldResourceVersion } from "./status.ts";
import { createTokenReviews, TOKEN_REVIEW_PATH, type TokenRegistry } from "./token-review.ts";
import { type OpenWatch, openWatch } from "./watch-stream.ts";

export interface ApiServerDouble {
  /** `http://127.0.0.1:<port>`; stays the same across {@link ApiServerDouble.restart}. */
  readonly url: string;
  readonly store: ObjectStore;
  /** Watches currently open. */
  readonly openWatches: number;
  /** Test hook: creates the object a manifest describes, or replaces it (spec and status) if it exists. */
  apply(manifest: KubeObject): KubeObject;
  /** Test hook: deletes an object by kind. */
  remove(apiVersion: string, kind: string, namespace: string, name: string): KubeObject;
  /** Requests served so far: collection lists, watches opened, and writes (POST/PUT/PATCH/DELETE) by path. */
  readonly requests: { lists: number; watches: number; writes: string[] };
  /** Test hook: ends every open watch stream, as a server-side watch timeout does. */
  dropWatches(): void;
  /** Test hook: sends a BOOKMARK at the current revision to every watch that allowed bookmarks. */
  bookmark(): void;
  /** Test hook: compacts history (default: all of it); watches resuming from before it get 410 Gone. */
  compact(revision?: number): void;
  /**
   * Test hook: drops every connection, is unreachable for `downMs`, then listens again on the same port.
   * The store survives (it is etcd); the watch cache does not, so history before the restart is gone
   * unless `keepHistory`.
   */
  restart(opts?: { downMs?: number; keepHistory?: boolean }): Promise<void>;
  /** Test hook: the tokens `POST /apis/authentication.k8s.io/v1/tokenreviews` authenticates. */
  readonly tokens: TokenRegistry;
  stop(): Promise<void>;
}

/**
 * A kube-apiserver double for tests: list, watch, get, create, replace, delete, the status subresource
 * (PUT, and PATCH with merge-patch) and core v1 Events, with kube-apiserver's resourceVersion rules.
 * Not served: label/field selectors, pagination tokens, server-side apply, admission.
 *
 * @example
 * ```ts
 * const api = await startApiServerDouble();
 * api.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } });
 * // point a KubeConfig at api.url, run informers, then: api.compact(); api.restart();
 * ```
 */
export async function startApiServerDouble(
  opts: {
    token?: string;
    /** What `/version` reports as gitVersion; default v1.30.0. */
    version?: string;
  } = {},
): Promise<ApiServerDouble> {
  const store = createObjectStore();
  const version = opts.version ?? "v1.30.0";
  const watches = new Set<OpenWatch>();
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const requests = { lists: 0, watches: 0, writes: [] as string[] };
  const tokenReviews = createTokenReviews();

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://double");
    if (opts.token && request.headers.authorization !== `Bearer ${opts.token}`) {
      reply(response, failure(401, "Unauthorized", "Unauthorized"));
      return;
    }
    if (url.pathname === TOKEN_REVIEW_PATH && request.method === "POST") {
      let body = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => {
        body += chunk;
      });
      request.on("end", () => {
        const answer = tokenReviews.review(body);
        response.writeHead(answer.code, { "content-type": "application/json" });
        response.end(JSON.stringify(answer.body));
      });
      return;
    }
    if (request.method === "GET") {
      const served = serveMeta(url.pathname);
      if (served) {
        reply(response, served);
        return;
      }
    }
    const target = parseApiPath(url.pathname);
    if (!target) {
      reply(response, failure(404, "NotFound", "the server could not find the requested resource"));
      return;
    }
    if (request.method === "GET") {
      const answer = read(target, url.searchParams, response);
      if (answer) reply(response, answer);
      return;
    }
    requests.writes.push(`${request.method} ${url.pathname}`);
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => {
      try {
        reply(
          response,
          write(target, request.method ?? "", request.headers["content-type"] ?? "", body),
          request.method === "POST" ? 201 : 200,
        );
      } catch (error) {
        reply(
          response,
          error instanceof StoreError ? failure(error.code, error.reason, error.message) : toStatus(error),
        );
      }
    });
  }

  /** `/version` and discovery (`/api/v1`, `/apis/<group>/<version>`). */
  function serveMeta(path: string): object | undefined {
    if (path === "/version") {
      const [major = "1", minor = "0"] = version.replace(/^v/, "").split(".");
      return { major, minor, gitVersion: version, platform: "linux/amd64" };
    }
    const parts = path.split("/").filter(Boolean);
    if (parts[0] === "api" && parts.length === 2) return discoveryDocument("", parts[1] ?? "");
    if (parts[0] === "apis" && parts.length === 3) return discoveryDocument(parts[1] ?? "", parts[2] ?? "");
    return undefined;
  }

  function read(target: ApiTarget, query: URLSearchParams, response: ServerResponse): object | undefined {
    const { type, namespace, name } = target;
    const apiVersion = apiVersionOf(type.group, target.version);
    if (name !== undefined) {
      const found = store.get(type, namespace ?? "", name);
      if (!found) return failure(404, "NotFound", `${type.plural} "${name}" not found`);
      return { ...found, apiVersion };
    }
    for (const unsupported of ["labelSelector", "fieldSelector", "continue", "sendInitialEvents"]) {
      if (query.has(unsupported))
        return failure(400, "BadRequest", `the API-server double does not implement ${unsupported}`);
    }
    const rv = query.get("resourceVersion") ?? "";
    const match = query.get("resourceVersionMatch") ?? "";
    const watching = ["1", "true"].includes(query.get("watch") ?? "");
    const invalid = checkVersionQuery(rv, match, watching);
    if (invalid) return invalid;
    if (watching) {
      requests.watches += 1;
      const timeout = query.get("timeoutSeconds");
      const watch = openWatch(
        store,
        {
          type,
          version: target.version,
          ...(namespace !== undefined ? { namespace } : {}),
          resourceVersion: rv,
          allowWatchBookmarks: query.get("allowWatchBookmarks") === "true",
          ...(timeout ? { timeoutSeconds: Number(timeout) } : {}),
        },
        response,
      );
      watches.add(watch);
      response.on("close", () => watches.delete(watch));
      return undefined;
    }
    requests.lists += 1;
    let items: KubeObject[] | "expired";
    let listRevision = store.revision;
    if (match === "Exact") {
      items = store.listAt(type, namespace, Number(rv));
      listRevision = Number(rv);
      if (items === "expired") return tooOldResourceVersion(Number(rv), store.compactedRevision + 1);
    } else if (rv !== "" && rv !== "0" && Number(rv) > store.revision) {
      return failure(504, "Timeout", `Too large resource version: ${rv}, current: ${store.revision}`, {
        causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      });
    } else items = store.list(type, namespace);
    return {
      apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: String(listRevision) },
      items: items.map((o) => ({ ...o, apiVersion })),
    };
  }

  function write(
    target: ApiTarget,
    method: string,
    contentType: string,
    body: string,
  ): KubeObject | KubeStatus {
    const { type, namespace, name, subresource } = target;
    const apiVersion = apiVersionOf(type.group, target.version);
    const at = (o: KubeObject) => ({ ...o, apiVersion });
    if (method === "DELETE" && name !== undefined) return at(store.delete(type, namespace ?? "", name));
    let sent = JSON.parse(body || "{}") as KubeObject;
    if (method === "PATCH" && name !== undefined) {
      if (contentType.split(";")[0] !== "application/merge-patch+json")
        return failure(
          415,
          "UnsupportedMediaType",
          `the double only accepts application/merge-patch+json, not ${contentType}`,
        );
      const found = store.get(type, namespace ?? "", name);
      if (!found) return failure(404, "NotFound", `${type.plural} "${name}" not found`);
      sent = mergePatch(found, sent) as KubeObject;
    } else if (method !== "PUT" && !(method === "POST" && name === undefined)) {
      return failure(405, "MethodNotAllowed", `${method} is not supported on this path`);
    }
    if (!sent.metadata || typeof sent.metadata !== "object")
      throw new StoreError("Invalid", "metadata: Required value");
    if (namespace !== undefined) {
      if (sent.metadata.namespace !== undefined && sent.metadata.namespace !== namespace)
        throw new StoreError(
          "Invalid",
          "metadata.namespace: Invalid value: does not match the namespace in the path",
        );
      sent.metadata.namespace = namespace;
    }
    if (name !== undefined && sent.metadata.name !== name)
      throw new StoreError("Invalid", "metadata.name: Invalid value: does not match the name in the path");
    const object = { ...sent, apiVersion: apiVersionOf(type.group, type.versions[0]!), kind: type.kind };
    if (method === "POST") return at(store.create(type, object));
    return at(store.update(type, object, subresource));
  }

  async function listen(): Promise<void> {
    server = createServer(handle);
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  }

  async function close(): Promise<void> {
    for (const watch of watches) watch.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    get openWatches() {
      return watches.size;
    },
    apply(manifest) {
      const type = typeForKind(manifest.apiVersion, manifest.kind);
      if (!type) throw new Error(`the double does not serve ${manifest.apiVersion} ${manifest.kind}`);
      const namespace = type.namespaced ? (manifest.metadata.namespace ?? "default") : undefined;
      const object = { ...manifest, metadata: { ...manifest.metadata, ...(namespace ? { namespace } : {}) } };
      if (!store.get(type, namespace ?? "", object.metadata.name)) return store.create(type, object);
      const { resourceVersion: _, ...metadata } = object.metadata;
      const updated = store.update(type, { ...object, metadata });
      return "status" in manifest
        ? store.update(type, { ...updated, status: manifest.status }, "status")
        : updated;
    },
    remove(apiVersion, kind, namespace, name) {
      const type = typeForKind(apiVersion, kind);
      if (!type) throw new Error(`the double does not serve ${apiVersion} ${kind}`);
      return store.delete(type, namespace, name);
    },
    requests,
    tokens: tokenReviews,
    dropWatches() {
      for (const watch of watches) watch.close();
    },
    bookmark() {
      for (const watch of watches) watch.bookmark(store.revision);
    },
    compact(revision) {
      store.compact(revision);
    },
    async restart({ downMs = 0, keepHistory = false } = {}) {
      await close();
      if (!keepHistory) store.compact();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await listen();
    },
    stop: close,
  };
}

/** kube-apiserver's validation of resourceVersion / resourceVersionMatch (apimachinery ValidateListOptions). */
function checkVersionQuery(rv: string, match: string, watching: boolean): KubeStatus | undefined {
  const invalid = (message: string) => failure(422, "Invalid", message);
  if (rv !== "" && !/^\d+$/.test(rv)) return failure(400, "BadRequest", `invalid resource version "${rv}"`);
  if (match === "") return undefined;
  if (watching)
    return invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch");
  if (rv === "")
    return invalid(
      "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
    );
  if (match !== "Exact" && match !== "NotOlderThan")
    return invalid(
      `resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
    );
  if (match === "Exact" && rv === "0")
    return invalid(
      'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    );
  return undefined;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function reply(response: ServerResponse, body: object, okStatus = 200): void {
  const code =
    (body as Partial<KubeStatus>).kind === "Status" ? ((body as KubeStatus).code ?? 500) : okStatus;
  response.writeHead(code, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

function toStatus(error: unknown): KubeStatus {
  if (error instanceof SyntaxError) return failure(400, "BadRequest", `invalid JSON body: ${error.message}`);
  return failure(500, "InternalError", error instanceof Error ? error.message : String(error));
}
