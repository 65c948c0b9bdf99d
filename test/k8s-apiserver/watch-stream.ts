import type { ServerResponse } from "node:http";
import type { KubeObject, ObjectStore, StoredChange } from "./object-store.ts";
import { apiVersionOf, type ResourceType, typeKey } from "./resource-types.ts";
import { failure, type KubeStatus, tooOldResourceVersion } from "./status.ts";

/** The query of one watch request, already checked. */
export interface WatchRequest {
  type: ResourceType;
  version: string;
  namespace?: string;
  /** "" (unset) and "0" start with synthetic ADDED events for the current state. */
  resourceVersion: string;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number;
}

/** An open watch, so the server can send bookmarks to it and close it. */
export interface OpenWatch {
  readonly bookmarks: boolean;
  bookmark(revision: number): void;
  close(): void;
}

type WatchLine =
  | { type: StoredChange["type"] | "BOOKMARK"; object: KubeObject }
  | { type: "ERROR"; object: KubeStatus };

/**
 * Streams one watch as kube-apiserver does: HTTP 200 with one JSON event per line. From resourceVersion N
 * it replays the retained changes after N, then live ones; from a compacted N it sends one ERROR event
 * (Status 410 Expired) and ends. The stream ends after `timeoutSeconds`.
 */
export function openWatch(store: ObjectStore, request: WatchRequest, response: ServerResponse): OpenWatch {
  const apiVersion = apiVersionOf(request.type.group, request.version);
  const matches = (change: StoredChange) =>
    change.typeKey === typeKey(request.type) &&
    (request.namespace === undefined || change.namespace === request.namespace);
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe = () => {};

  const write = (line: WatchLine) => {
    if (!closed) response.write(`${JSON.stringify(line)}\n`);
  };
  const send = (type: StoredChange["type"], object: KubeObject) =>
    write({ type, object: { ...object, apiVersion } });
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    unsubscribe();
    response.end();
  };

  response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  response.flushHeaders(); // kube-apiserver answers a watch at once; events follow as they happen
  const watch: OpenWatch = {
    bookmarks: request.allowWatchBookmarks,
    bookmark(revision) {
      if (!request.allowWatchBookmarks) return;
      write({
        type: "BOOKMARK",
        object: {
          apiVersion,
          kind: request.type.kind,
          metadata: { name: "", resourceVersion: String(revision) },
        },
      });
    },
    close,
  };
  response.on("close", close);

  const rv = request.resourceVersion;
  if (rv === "" || rv === "0") {
    for (const object of store.list(request.type, request.namespace)) send("ADDED", object);
  } else {
    const from = Number(rv);
    if (from > store.revision) {
      write({
        type: "ERROR",
        object: failure(504, "Timeout", `Too large resource version: ${from}, current: ${store.revision}`),
      });
      close();
      return watch;
    }
    const replay = store.changesSince(request.type, request.namespace, from);
    if (replay === "expired") {
      write({ type: "ERROR", object: tooOldResourceVersion(from, store.compactedRevision + 1) });
      close();
      return watch;
    }
    for (const change of replay) send(change.type, change.object);
  }
  unsubscribe = store.onChange((change) => {
    if (matches(change)) send(change.type, change.object);
  });
  if (request.timeoutSeconds !== undefined) timer = setTimeout(close, request.timeoutSeconds * 1000);
  return watch;
}
