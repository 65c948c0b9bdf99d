import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

/**
 * Vitest globalSetup: two tiny HTTP echo upstreams on free loopback ports, for tests that run
 * inside workerd (which cannot start a server of their own). Each answers JSON describing the
 * request it got, `x-echo-upstream: a|b`; `GET /slow?ms=N` waits N ms before answering.
 * Also provides a port nothing listens on, for connection-failure tests.
 */

declare module "vitest" {
  export interface ProvidedContext {
    echoPortA: number;
    echoPortB: number;
    closedPort: number;
  }
}

/** What an echo upstream answers. */
export interface EchoReply {
  upstream: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function startEcho(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://echo");
      const delay = url.pathname === "/slow" ? Number(url.searchParams.get("ms") ?? "1000") : 0;
      const reply: EchoReply = {
        upstream: name,
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, {
          "content-type": "application/json",
          "x-echo-upstream": name,
          connection: "keep-alive",
        });
        res.end(JSON.stringify(reply));
      }, delay);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = portOf(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = [await startEcho("a"), await startEcho("b")] as const;
  project.provide("echoPortA", portOf(servers[0]));
  project.provide("echoPortB", portOf(servers[1]));
  project.provide("closedPort", await closedPort());
  return async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
}
