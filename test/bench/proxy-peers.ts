import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BenchProcess, freePort, hasCommand, startProcess } from "./child-process.ts";

/**
 * The peers of the data-plane benchmarks: HAProxy and nginx (Debian packages) run as the same
 * two-hop pair as the Jibe sidecars, client → proxy A → proxy B → upstream, each proxy one
 * process (nginx: master + one worker) with one thread, keep-alive on both hops.
 */

/** Two proxies in series in front of the upstream. */
export interface ProxyPair {
  name: string;
  /** Where the client connects: proxy A. */
  url: string;
  /** Root process of each proxy (A, B): CPU and RSS are read from these and their children. */
  pids: [number, number];
  stop(): Promise<void>;
}

/** Client and server certificates for an mTLS hop between two peer proxies, from one test CA. */
export interface PeerCertificates {
  caFile: string;
  /** Certificate + key PEM of proxy A (the client side of the hop). */
  clientPem: string;
  /** Certificate + key PEM of proxy B (the server side). */
  serverPem: string;
}

const run = promisify(execFile);

/** The Debian packages a peer needs that are missing, e.g. `["haproxy"]`. */
export async function missingPeerPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const command of ["haproxy", "nginx", "wrk"]) if (!(await hasCommand(command))) missing.push(command);
  return missing;
}

/** Makes a CA and ECDSA P-256 client/server certificates (like mesh SVIDs) with openssl. */
export async function makePeerCertificates(dir: string): Promise<PeerCertificates> {
  await mkdir(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    caKey,
    "-out",
    ca,
    "-days",
    "2",
    "-subj",
    "/CN=Bench CA",
  ]);
  const leaf = async (name: string) => {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const crt = join(dir, `${name}.crt`);
    const ext = join(dir, `${name}.ext`);
    await writeFile(ext, `subjectAltName=DNS:${name}\n`);
    await run("openssl", ["req", ...ec, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-out",
      crt,
      "-days",
      "2",
      "-extfile",
      ext,
    ]);
    const pem = join(dir, `${name}.pem`);
    await writeFile(pem, (await readFile(crt, "utf8")) + (await readFile(key, "utf8")));
    return pem;
  };
  return { caFile: ca, clientPem: await leaf("client"), serverPem: await leaf("server") };
}

/**
 * An HAProxy pair; with `tls`, the A → B hop is mutual TLS (`verify required` on both sides); with
 * `protocol: "h2c"`, every hop (client, A → B, B → upstream) is HTTP/2 with prior knowledge
 * (`proto h2` on binds and servers).
 */
export async function startHaproxyPair(
  dir: string,
  upstreamPort: number,
  tls?: PeerCertificates,
  protocol: "http1" | "h2c" = "http1",
): Promise<ProxyPair> {
  await mkdir(dir, { recursive: true });
  const portA = await freePort();
  const portB = await freePort();
  const config = (bind: string, server: string) =>
    [
      "global",
      "  nbthread 1",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  option http-keep-alive",
      "  timeout connect 5s",
      "  timeout client 60s",
      "  timeout server 60s",
      "frontend in",
      `  bind ${bind}`,
      "  default_backend next",
      "backend next",
      "  http-reuse always",
      `  server next ${server}`,
      "",
    ].join("\n");
  const h2 = protocol === "h2c" ? " proto h2" : "";
  const fileA = join(dir, "haproxy-a.cfg");
  const fileB = join(dir, "haproxy-b.cfg");
  const hop = tls ? ` ssl crt ${tls.clientPem} ca-file ${tls.caFile} verify required verifyhost server` : "";
  await writeFile(fileA, config(`127.0.0.1:${portA}${h2}`, `127.0.0.1:${portB}${hop}${h2}`));
  const bindB = tls ? ` ssl crt ${tls.serverPem} ca-file ${tls.caFile} verify required` : "";
  await writeFile(fileB, config(`127.0.0.1:${portB}${bindB}${h2}`, `127.0.0.1:${upstreamPort}${h2}`));
  const b = await startProcess("haproxy", ["-db", "-f", fileB], { settleMs: 300 });
  const a = await startProcess("haproxy", ["-db", "-f", fileA], { settleMs: 300 }).catch(async (e) => {
    await b.process.stop();
    throw e;
  });
  return pair(`HAProxy${tls ? " (mTLS)" : ""}${h2 ? " (h2c)" : ""}`, portA, a.process, b.process);
}

/**
 * A pair of bare Node pass-through proxies (node-proxy-process.ts): Node's own cost for the same
 * two hops, without anything Jibe adds.
 */
export async function startBareNodePair(upstreamPort: number): Promise<ProxyPair> {
  const script = fileURLToPath(new URL("./node-proxy-process.ts", import.meta.url));
  const [portA, portB] = [await freePort(), await freePort()];
  const b = await startProcess(process.execPath, [script, String(portB), String(upstreamPort)]);
  const a = await startProcess(process.execPath, [script, String(portA), String(portB)]).catch(async (e) => {
    await b.process.stop();
    throw e;
  });
  return pair("bare Node", portA, a.process, b.process);
}

/** An nginx pair (master + 1 worker each, access log off, upstream keep-alive). */
export async function startNginxPair(dir: string, upstreamPort: number): Promise<ProxyPair> {
  await mkdir(dir, { recursive: true });
  const portA = await freePort();
  const portB = await freePort();
  const b = await startNginxHop(dir, "nginx-b", portB, upstreamPort);
  const a = await startNginxHop(dir, "nginx-a", portA, portB).catch(async (e) => {
    await b.stop();
    throw e;
  });
  return pair("nginx", portA, a, b);
}

/**
 * One nginx proxy hop (master + 1 worker, access log off, keep-alive to `next`) listening on
 * `listen`; its files are named after `name` in `dir`.
 */
export async function startNginxHop(
  dir: string,
  name: string,
  listen: number,
  next: number,
): Promise<BenchProcess> {
  const config = [
    "worker_processes 1;",
    "daemon off;",
    `pid ${join(dir, `${name}.pid`)};`,
    `error_log ${join(dir, `${name}.error.log`)} warn;`,
    "events { worker_connections 20000; }",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${dir}/${name}-body;`,
    `  proxy_temp_path ${dir}/${name}-proxy;`,
    `  fastcgi_temp_path ${dir}/${name}-fcgi;`,
    `  uwsgi_temp_path ${dir}/${name}-uwsgi;`,
    `  scgi_temp_path ${dir}/${name}-scgi;`,
    "  keepalive_requests 1000000;",
    `  upstream next { server 127.0.0.1:${next}; keepalive 256; keepalive_requests 1000000; }`,
    "  server {",
    `    listen 127.0.0.1:${listen};`,
    "    location / {",
    "      proxy_pass http://next;",
    "      proxy_http_version 1.1;",
    '      proxy_set_header Connection "";',
    "      proxy_set_header Host $host;",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
  const file = join(dir, `${name}.conf`);
  await writeFile(file, config);
  const started = await startProcess(
    "nginx",
    ["-e", join(dir, `${name}.stderr.log`), "-p", dir, "-c", file],
    {
      settleMs: 300,
    },
  );
  return started.process;
}

function pair(name: string, portA: number, a: BenchProcess, b: BenchProcess): ProxyPair {
  return {
    name,
    url: `http://127.0.0.1:${portA}/`,
    pids: [a.pid, b.pid],
    async stop() {
      await a.stop();
      await b.stop();
    },
  };
}
