/**
 * The one entry point to `@peculiar/x509` inside Jibe. The library resolves its internals through
 * tsyringe, which needs a Reflect metadata polyfill loaded first; importing the library from here
 * guarantees that order in Node and workerd alike.
 *
 * @example
 * ```ts
 * import { x509 } from "./x509.ts";
 * const cert = new x509.X509Certificate(pem);
 * ```
 */
import "reflect-metadata";

export * as x509 from "@peculiar/x509";
