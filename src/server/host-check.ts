import { isIP } from 'node:net';

/**
 * DNS-rebinding guard (§5): a page on evil.example whose name is re-pointed at 127.0.0.1 sends
 * `Host: evil.example`; only names that really mean "this gateway" are accepted.
 */
export class HostPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(bindAddress: string, allowedHosts: readonly string[]) {
    const names = new Set<string>(['localhost', ...allowedHosts.map((h) => normalizeHostname(h))]);
    const bind = normalizeHostname(bindAddress);
    // A wildcard bind address names no host; operators list their public names in allowed-hosts.
    if (bind !== '0.0.0.0' && bind !== '::') names.add(bind);
    this.allowed = names;
  }

  /** The Host header value (`name[:port]`, `[v6]:port`) is acceptable. */
  hostAllowed(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined || hostHeader === '') return false;
    const name = hostnameOf(hostHeader);
    if (name === undefined) return false;
    return isLoopback(name) || this.allowed.has(name);
  }

  /**
   * An Origin, when present, must be this gateway as the browser reached it: the same
   * scheme-less host:port as the (already checked) Host header. `null` origins are refused.
   */
  originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
    if (origin === undefined) return true;
    if (hostHeader === undefined) return false;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return url.host.toLowerCase() === hostHeader.toLowerCase() && this.hostAllowed(url.host);
  }
}

function normalizeHostname(h: string): string {
  const lower = h.toLowerCase().replace(/\.$/, '');
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

/** Host header → bare host name; undefined when it is not a well-formed host[:port]. */
export function hostnameOf(hostHeader: string): string | undefined {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !validPort(rest.slice(1))) return undefined;
    const v6 = h.slice(1, end);
    return isIP(v6) === 6 ? v6 : undefined;
  }
  const m = /^([^:]+)(?::([^:]*))?$/.exec(h);
  if (m === null || m[1] === undefined) return undefined;
  if (m[2] !== undefined && !validPort(m[2])) return undefined;
  return m[1].replace(/\.$/, '');
}

function validPort(p: string): boolean {
  return /^[0-9]{1,5}$/.test(p) && Number(p) <= 65535;
}

export function isLoopback(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) {
    // IPv4 loopback written as an IPv4-mapped IPv6 address (::ffff:127.0.0.1) is loopback too.
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(name);
    if (mapped !== null) return mapped[1]!.startsWith('127.');
    return name === '::1' || name === '0:0:0:0:0:0:0:1';
  }
  return false;
}
