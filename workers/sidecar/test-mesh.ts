/**
 * Test support for sidecar and sample tests (not a `*.test.ts`: imported by them): a real
 * nats-server, a test signing key, and `apply`/`remove` that write resources the way the control
 * plane does (`test/support/mesh-writer.ts`: validate → sign → config-store put → signed event with
 * that revision), plus small
 * upstream apps that count their connections.
 */
import { type Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import type { NatsConnection } from "@nats-io/nats-core";
import type { ConfigStore } from "../../broker/config-store.ts";
import {
  createSigner,
  createVerifier,
  generateSigningKey,
  type Signer,
  type Verifier,
} from "../../broker/envelope.ts";
import type { EventPublisher } from "../../broker/event-publisher.ts";
import { connectNats } from "../../broker/nats-connection.ts";
import type { NatsServerHandle } from "../../broker/nats-launcher.ts";
import { createMeshWriter, validTestResource } from "../../test/support/mesh-writer.ts";
import { startTestNats } from "../../test/support/nats.ts";

export interface TestMesh {
  nats: NatsServerHandle;
  nc: NatsConnection;
  verifier: Verifier;
  signer: Signer;
  store: ConfigStore;
  publisher: EventPublisher;
  /** Validates, stores and announces resources in order; resolves to the last revision. */
  apply(...documents: object[]): Promise<number>;
  /** Deletes a resource (store delete marker + signed event); resolves to its revision. */
  remove(kind: string, name: string, namespace?: string): Promise<number>;
  /** Applies resources, then waits until every given proxy's snapshot reflects them. */
  applyAndWait(
    proxies: ReadonlyArray<{ snapshot(): { revision: number } }>,
    ...documents: object[]
  ): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestMesh(): Promise<TestMesh> {
  const nats = await startTestNats();
  const nc = await connectNats(nats.url);
  const { privateJwk, publicJwks } = await generateSigningKey();
  const signer = await createSigner(privateJwk);
  const verifier = await createVerifier(publicJwks);
  const writer = await createMeshWriter(nc, signer);
  let revision = 0;
  const apply = async (...documents: object[]) => {
    for (const [index, document] of documents.entries())
      revision = await writer.apply(validTestResource(document, index));
    return revision;
  };
  return {
    nats,
    nc,
    verifier,
    signer,
    store: writer.store,
    publisher: writer.publisher,
    apply,
    async remove(kind, name, namespace = "default") {
      revision = await writer.remove({ kind, namespace, name });
      return revision;
    },
    async applyAndWait(proxies, ...documents) {
      const target = await apply(...documents);
      await waitFor(() => proxies.every((p) => p.snapshot().revision >= target), 5_000, `revision ${target}`);
    },
    async stop() {
      await nc.drain().catch(() => nc.close());
      await nats.stop();
    },
  };
}

/** A Kubernetes Service of the test mesh (one `http` port). */
export function service(name: string, port = 9080, namespace = "default"): object {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: "http", port }] },
  };
}

/** A WorkloadEntry for an instance listening on 127.0.0.1:`port` (a sidecar inbound listener or an app). */
export function workloadEntry(
  name: string,
  labels: Record<string, string>,
  port: number,
  namespace = "default",
): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "WorkloadEntry",
    metadata: { name, namespace },
    spec: { address: "127.0.0.1", labels, ports: { http: port } },
  };
}

/** A DestinationRule with one subset per `version` label value. */
export function versionSubsets(host: string, versions: string[], namespace = "default"): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: host, namespace },
    spec: { host, subsets: versions.map((v) => ({ name: v, labels: { version: v } })) },
  };
}

/** A VirtualService named after its host with the given `http` rules. */
export function virtualService(host: string, http: object[], namespace = "default"): object {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: host, namespace },
    spec: { hosts: [host], http },
  };
}

/** A small upstream app: answers JSON naming itself, unless `handler` takes the request. */
export interface TestApp {
  port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests served so far. */
  readonly requests: number;
  /** Requests whose connection closed before the app answered. */
  readonly cancelled: number;
  /** The last request's headers. */
  readonly lastHeaders: IncomingMessage["headers"];
  stop(): Promise<void>;
}

export type TestAppHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Starts an app that answers `{ app, path, method }` as JSON, after `?delay=<ms>` if given;
 * `POST /echo` streams the request body back; `handler` may take any request first.
 */
export async function startTestApp(name: string, handler?: TestAppHandler): Promise<TestApp> {
  let connections = 0;
  let requests = 0;
  let cancelled = 0;
  let lastHeaders: IncomingMessage["headers"] = {};
  const server = createServer((req, res) => {
    requests++;
    lastHeaders = req.headers;
    if (handler?.(req, res)) return;
    const url = new URL(req.url ?? "/", "http://app.invalid");
    if (url.pathname === "/echo") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      req.pipe(res);
      return;
    }
    const delay = Number(url.searchParams.get("delay") ?? "0");
    const timer = setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ app: name, path: url.pathname, method: req.method }));
    }, delay);
    res.once("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) cancelled++;
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    get cancelled() {
      return cancelled;
    },
    get lastHeaders() {
      return lastHeaders;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a test HTTP call returned. */
export interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/**
 * One HTTP request to 127.0.0.1:`port` (a sidecar listener) with `Host` = `authority` (or `path`
 * in absolute form). A new connection per call unless a keep-alive `agent` is given.
 */
export function call(
  port: number,
  authority: string,
  path: string,
  options: { headers?: Record<string, string>; method?: string; body?: Buffer; agent?: Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        agent: options.agent ?? false,
        headers: { host: authority, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP port that was free a moment ago (bind port 0, close); nothing listens on it now. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
