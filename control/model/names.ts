/**
 * Name rules shared by every kind: Kubernetes DNS-1123 names, label keys and values, and the
 * host names Istio accepts (`reviews`, `reviews.default.svc.cluster.local`, `*.example.com`, `*`).
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const HOST_LABEL = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters. */
export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** True for a DNS-1035 label (a DNS-1123 label that starts with a letter), as Service names need. */
export function isDns1035Label(value: string): boolean {
  return value.length <= 63 && DNS1035_LABEL.test(value);
}

/** True for a DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
  return (
    value.length > 0 && value.length <= 253 && value.split(".").every((label) => DNS1123_LABEL.test(label))
  );
}

/**
 * Suggests a valid DNS-1123 name for a wrong one, for the "how to fix" half of a message.
 *
 * @example
 * ```ts
 * suggestDnsName("Reviews_V1"); // "reviews-v1"
 * ```
 */
export function suggestDnsName(value: string): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return cleaned.slice(0, 63).replace(/[^a-z0-9]+$/, "") || "my-resource";
}

/** Why a label key is invalid, or undefined when it is valid (`app`, `app.kubernetes.io/name`). */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) {
    return `label key prefix "${prefix}" must be a DNS-1123 subdomain such as "app.kubernetes.io"`;
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return `label key "${key}" must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** Why a label value is invalid, or undefined when it is valid. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label value "${value}" must be empty or at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** True for a literal IPv4 or IPv6 address. */
export function isIpAddress(value: string): boolean {
  if (IPV4.test(value)) return true;
  return value.includes(":") && /^[0-9A-Fa-f:.]+$/.test(value) && value.split("::").length <= 2;
}

/** True for an FQDN or short host name (no wildcard): dot-separated labels, at most 255 characters. */
export function isHostName(value: string): boolean {
  const trimmed = value.endsWith(".") ? value.slice(0, -1) : value;
  if (trimmed.length === 0 || trimmed.length > 255) return false;
  return trimmed.split(".").every((label) => label.length <= 63 && HOST_LABEL.test(label));
}

/**
 * Why a host is not a valid Istio wildcard domain (`*`, `*.example.com`, `reviews`, `a.b.c`), or
 * undefined when it is valid. Mirrors Istio's `ValidateWildcardDomain`.
 */
export function wildcardDomainProblem(host: string): string | undefined {
  if (host === "*") return undefined;
  if (host.length === 0)
    return 'host is empty; set a host name such as "reviews" or "reviews.default.svc.cluster.local"';
  const rest = host.startsWith("*.") ? host.slice(2) : host.startsWith("*") ? host.slice(1) : host;
  if (rest.includes("*")) {
    return `host "${host}" has a wildcard that is not at the start; only a leading "*" or "*." is allowed, e.g. "*.example.com"`;
  }
  if (!isHostName(rest) && !isIpAddress(rest)) {
    return `host "${host}" is not a valid DNS name; use dot-separated labels of letters, digits and '-', e.g. "reviews.default.svc.cluster.local"`;
  }
  return undefined;
}
