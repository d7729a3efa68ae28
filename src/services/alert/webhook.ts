import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Webhook plumbing for alert deliveries: which hosts may be called, how a body is signed, and one
 * POST whose connection is refused when the host name resolves to an address that is not allowed.
 */

/** Names that are loopback without configuration. */
const LOOPBACK_NAMES = new Set(['localhost']);

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback (`::ffff:127.0.0.1`). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) === 6) return a === '::1' || a === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(a);
  return false;
}

/**
 * Which webhook hosts may be called: loopback (127.0.0.0/8, ::1, `localhost`) always, other
 * host names and addresses only when listed (GRANARY_ALERT_ALLOWED_HOSTS).
 */
export class HostPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(allowedHosts: readonly string[]) {
    this.allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  }

  /** Why `url` may not be a webhook, or undefined when it may (checked at receiver creation). */
  refuseUrl(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'must be an absolute http:// or https:// URL';
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http:// or https:// URL';
    if (parsed.username || parsed.password) return 'must not carry credentials; receivers verify the signature instead';
    const host = hostOf(parsed);
    if (!this.hostAllowed(host)) {
      return `host ${host} is not allowed: only loopback hosts (127.0.0.0/8, ::1, localhost) and those listed in GRANARY_ALERT_ALLOWED_HOSTS`;
    }
    return undefined;
  }

  /** The host as written in the URL is loopback or listed. */
  hostAllowed(host: string): boolean {
    const h = host.toLowerCase();
    return this.allowed.has(h) || LOOPBACK_NAMES.has(h) || isLoopbackAddress(h);
  }

  /**
   * May a connection for `host` go to `address`? A listed host goes wherever it resolves (the
   * operator named it); a loopback name must resolve to loopback; a listed address is allowed.
   */
  addressAllowed(host: string, address: string): boolean {
    if (this.allowed.has(host.toLowerCase())) return true;
    return isLoopbackAddress(address) || this.allowed.has(address.toLowerCase());
  }

  /**
   * A `lookup` for the socket: resolves the name as usual and fails the connection when any
   * address is not allowed. Used by the request itself, so there is no gap between the check and
   * the connect for a DNS answer to change in.
   */
  lookupFor(host: string): LookupFunction {
    return ((hostname: string, options: object, callback: (...args: unknown[]) => void) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error);
        const refused = addresses.find((a) => !this.addressAllowed(host, a.address));
        if (refused || addresses.length === 0) {
          return callback(new RefusedHostError(`host ${host} resolves to ${refused?.address ?? 'nothing'}, which is not an allowed address`));
        }
        if ((options as { all?: boolean }).all) return callback(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    }) as LookupFunction;
  }
}

/** The connection was refused by the host policy; retrying does not help. */
export class RefusedHostError extends Error {
  override readonly name = 'RefusedHostError';
}

/** The URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>`. */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface PostResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * POSTs `body` once; resolves with the status when the response head arrives (the response body
 * is read and dropped), rejects on network errors, the timeout, `signal`, or a refused host.
 * Redirects are not followed: a 3xx is the answer.
 */
export function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { readonly policy: HostPolicy; readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<PostResult> {
  const parsed = new URL(url);
  const host = hostOf(parsed);
  if (!options.policy.hostAllowed(host)) return Promise.reject(new RefusedHostError(`host ${host} is not allowed`));
  // An IP literal never goes through lookup: check it here.
  if (isIP(host) && !options.policy.addressAllowed(host, host)) {
    return Promise.reject(new RefusedHostError(`address ${host} is not allowed`));
  }
  const request = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve, reject) => {
    const req = request(
      parsed,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: options.policy.lookupFor(host),
        // A fresh connection per attempt: a pooled keep-alive socket would skip the lookup check,
        // and alerts are too few for connection reuse to matter.
        agent: false,
        signal: options.signal,
      },
      (res) => {
        clearTimeout(timer);
        res.resume();
        res.on('error', () => {});
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/** Retry-After as milliseconds (delta seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
