import { AsyncLocalStorage } from "node:async_hooks";
import { type Channel, channel } from "node:diagnostics_channel";
import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";

/**
 * The headers Istio asks applications to copy from an inbound request to the outbound requests it
 * causes (request id, W3C trace context and baggage, Zipkin B3, OpenTracing), lower-case.
 */
export const PROPAGATION_HEADERS = [
  "x-request-id",
  "traceparent",
  "tracestate",
  "baggage",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "x-ot-span-context",
] as const;

/** Options of {@link installHeaderPropagation}. */
export interface HeaderPropagationOptions {
  /** Headers copied besides {@link PROPAGATION_HEADERS} (e.g. `end-user` for header routing). */
  extraHeaders?: readonly string[];
}

/** An installed propagation; `uninstall` restores the servers and unsubscribes. */
export interface HeaderPropagation {
  /** The headers carried by the inbound request being handled here, if any (for tests and logs). */
  current(): Readonly<Record<string, string>> | undefined;
  uninstall(): void;
}

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
/** undici's request object as `undici:request:create` hands it over (`headers` is a flat name/value list). */
interface UndiciRequest {
  headers: string[] | string;
  addHeader(name: string, value: string): unknown;
}

/**
 * Carries an inbound request's trace headers to the outbound `fetch` and `http(s).request` calls
 * made while handling it, with no change to the app: every `request` event of an `http`/`https`
 * server runs inside an AsyncLocalStorage scope holding the inbound headers, and the
 * `http.client.request.created` and `undici:request:create` diagnostics channels add those headers
 * to each outbound request that does not set them itself (an app that propagates on its own wins).
 * Istio says only the app can do this; in Node, AsyncLocalStorage can.
 *
 * @example
 * ```ts
 * const propagation = installHeaderPropagation({ extraHeaders: ["end-user"] });
 * // ...requests handled by any http.Server now pass x-request-id/traceparent/b3 on to fetch()
 * propagation.uninstall();
 * ```
 */
export function installHeaderPropagation(options: HeaderPropagationOptions = {}): HeaderPropagation {
  const names = [
    ...new Set([...PROPAGATION_HEADERS, ...(options.extraHeaders ?? []).map((n) => n.toLowerCase())]),
  ];
  const scope = new AsyncLocalStorage<Record<string, string>>();

  const restores: Array<() => void> = [];
  for (const proto of [http.Server.prototype, https.Server.prototype] as Array<{ emit: Emit }>) {
    const original = proto.emit;
    if (Object.hasOwn(proto, "emit")) restores.push(() => (proto.emit = original));
    else restores.push(() => delete (proto as Partial<{ emit: Emit }>).emit);
    proto.emit = function emit(this: unknown, event, ...args) {
      if (event !== "request") return original.call(this, event, ...args);
      const carried = pick(args[0] as IncomingMessage, names);
      return scope.run(carried, () => original.call(this, event, ...args));
    };
  }

  const onNodeRequest = (message: unknown) => {
    const carried = scope.getStore();
    if (!carried) return;
    const request = (message as { request: ClientRequest }).request;
    for (const [name, value] of Object.entries(carried))
      if (!request.hasHeader(name)) request.setHeader(name, value);
  };
  const onFetch = (message: unknown) => {
    const carried = scope.getStore();
    if (!carried) return;
    const request = (message as { request: UndiciRequest }).request;
    const present = presentNames(request.headers);
    for (const [name, value] of Object.entries(carried))
      if (!present.has(name)) request.addHeader(name, value);
  };
  const subscriptions: Array<[Channel, (message: unknown) => void]> = [
    [channel("http.client.request.created"), onNodeRequest],
    [channel("undici:request:create"), onFetch],
  ];
  for (const [ch, listener] of subscriptions) ch.subscribe(listener);

  return {
    current: () => scope.getStore(),
    uninstall() {
      for (const [ch, listener] of subscriptions) ch.unsubscribe(listener);
      for (const restore of restores) restore();
      scope.disable();
    },
  };
}

function pick(req: IncomingMessage, names: readonly string[]): Record<string, string> {
  const carried: Record<string, string> = {};
  for (const name of names) {
    const value = req.headers[name];
    const text = Array.isArray(value) ? value.join(", ") : value;
    if (text) carried[name] = text;
  }
  return carried;
}

function presentNames(headers: string[] | string): Set<string> {
  if (Array.isArray(headers))
    return new Set(headers.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()));
  // Older undici: one "name: value\r\n" string.
  return new Set(
    headers
      .split("\r\n")
      .map((line) => line.slice(0, line.indexOf(":")).trim().toLowerCase())
      .filter(Boolean),
  );
}
