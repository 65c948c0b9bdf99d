import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { type Logger, silentLogger } from "../../broker/logger.ts";
import { answerAdmissionReview, readAdmissionReview } from "./admission-review.ts";
import { isInjectorError } from "./errors.ts";
import type { InjectionOptions } from "./inject-pod.ts";
import { createServingCertificate, type ServingCertificate } from "./serving-certificate.ts";

/** Kubernetes objects are at most ~1.5 MiB; anything much larger is not an AdmissionReview. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface InjectionWebhookOptions {
  injection: InjectionOptions;
  /** Labels of a namespace (e.g. from the adapter's informer cache); undefined when unknown. */
  lookupNamespace(name: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Serving certificate; default: a self-signed one for `dnsNames` (+ 127.0.0.1). */
  tls?: ServingCertificate;
  dnsNames?: readonly string[];
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  log?: Logger;
}

export interface InjectionWebhook {
  /** `https://host:port/inject`, what the MutatingWebhookConfiguration's clientConfig points at. */
  url: string;
  port: number;
  /** PEM of the serving certificate: the webhook configuration's `caBundle` when self-signed. */
  certPem: string;
  stop(): Promise<void>;
}

/**
 * Serves the mutating admission webhook over HTTPS: `POST /inject` answers an AdmissionReview v1
 * (see `answerAdmissionReview`), `GET /ready` for probes. A malformed review gets 400; a failed
 * namespace lookup gets 500 so the API server applies the webhook's failurePolicy.
 *
 * @example
 * ```ts
 * const webhook = await startInjectionWebhook({ injection: { kubernetesVersion: "1.30", proxyImage },
 *   lookupNamespace: async (name) => namespaces.get(name)?.metadata?.labels });
 * ```
 */
export async function startInjectionWebhook(opts: InjectionWebhookOptions): Promise<InjectionWebhook> {
  const log = opts.log ?? silentLogger;
  const dnsNames = opts.dnsNames ?? ["jibe-injector.jibe-system.svc", "localhost"];
  const tls =
    opts.tls ??
    (await createServingCertificate({ dnsNames, ipAddresses: ["127.0.0.1"], now: Date.now(), crypto }));
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? "/", "https://webhook").pathname;
    if (req.method === "GET" && path === "/ready") return reply(200, { ready: true });
    if (req.method !== "POST" || path !== "/inject")
      return reply(404, { error: `no route ${req.method} ${path}` });
    readBody(req)
      .then(async (text) => {
        if (text === undefined) return reply(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        const request = readAdmissionReview(JSON.parse(text));
        const labels = request.pod ? await opts.lookupNamespace(request.namespace) : {};
        const answer = answerAdmissionReview(
          request,
          { name: request.namespace, labels: labels ?? {} },
          opts.injection,
        );
        log.debug(
          `inject: ${request.namespace}/${request.pod?.metadata?.name ?? "?"} allowed=${answer.response.allowed}`,
        );
        reply(200, answer);
      })
      .catch((err: unknown) => {
        if (err instanceof SyntaxError || isInjectorError(err))
          return reply(400, { error: String((err as Error).message) });
        log.error(`inject: ${String(err)}`);
        reply(500, { error: "injection failed" });
      });
  });
  await listen(server, opts.port ?? 0, opts.host ?? "127.0.0.1");
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `https://${address.includes(":") ? `[${address}]` : address}:${port}/inject`,
    port,
    certPem: tls.certPem,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

async function readBody(req: AsyncIterable<Buffer>): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
