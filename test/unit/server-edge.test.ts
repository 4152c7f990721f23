import { describe, expect, it } from 'vitest';
import { AuthWarningLimiter } from '../../src/server/auth-warnings.js';
import { isContractInstanceId } from '../../src/server/contract-key.js';
import { HostPolicy, hostnameOf, isLoopback } from '../../src/server/host-check.js';
import { safeSegments } from '../../src/server/webapps.js';

describe('HostPolicy (DNS-rebinding guard)', () => {
  const p = new HostPolicy('127.0.0.1', ['gw.example.org']);

  it('accepts loopback names, the bind address and allowed hosts, with or without a port', () => {
    for (const h of ['localhost', 'localhost:7509', '127.0.0.1:7509', '127.8.9.10', '[::1]:7509', 'app.localhost', 'GW.example.org:443', 'gw.example.org.']) {
      expect(p.hostAllowed(h), h).toBe(true);
    }
  });

  it('refuses other names, malformed values and a missing header', () => {
    for (const h of [undefined, '', 'evil.example', 'evil.example:7509', '127.0.0.1.evil.example', '[::1', '[::2]:1', 'a b', 'localhost:port', 'gw.example.org@evil']) {
      expect(p.hostAllowed(h), String(h)).toBe(false);
    }
  });

  it('a wildcard bind address names no host', () => {
    const any = new HostPolicy('0.0.0.0', []);
    expect(any.hostAllowed('0.0.0.0:7509')).toBe(false);
    expect(any.hostAllowed('localhost')).toBe(true);
    expect(new HostPolicy('192.0.2.7', []).hostAllowed('192.0.2.7:7509')).toBe(true);
  });

  it('an Origin must be this gateway as reached through the Host header', () => {
    expect(p.originAllowed(undefined, 'localhost:7509')).toBe(true);
    expect(p.originAllowed('http://localhost:7509', 'localhost:7509')).toBe(true);
    expect(p.originAllowed('https://gw.example.org', 'gw.example.org')).toBe(true);
    expect(p.originAllowed('http://localhost:7510', 'localhost:7509')).toBe(false);
    expect(p.originAllowed('http://evil.example', 'localhost:7509')).toBe(false);
    expect(p.originAllowed('null', 'localhost:7509')).toBe(false);
    expect(p.originAllowed('file://', 'localhost:7509')).toBe(false);
    expect(p.originAllowed('http://localhost:7509', undefined)).toBe(false);
  });

  it('hostnameOf strips ports and brackets', () => {
    expect(hostnameOf('[::1]:80')).toBe('::1');
    expect(hostnameOf('Example.ORG:8080')).toBe('example.org');
    expect(hostnameOf('x:99999999')).toBeUndefined();
    expect(hostnameOf('x:99999')).toBeUndefined();
    expect(hostnameOf('x:65535')).toBe('x');
  });
});

describe('isLoopback', () => {
  it('knows loopback in its IPv4, IPv6 and IPv4-mapped forms, and nothing else', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '0:0:0:0:0:ffff:127.0.0.2', 'localhost', 'a.localhost']) {
      expect(isLoopback(a), a).toBe(true);
    }
    for (const a of ['0.0.0.0', '::', '::ffff:10.0.0.1', '::ffff:0.0.0.0', '192.168.1.2', '::2', 'example.com', '128.0.0.1']) {
      expect(isLoopback(a), a).toBe(false);
    }
  });
});

describe('AuthWarningLimiter', () => {
  it('warns once per fingerprint and never holds more than its capacity', () => {
    const l = new AuthWarningLimiter({ capacity: 100, budget: Infinity });
    expect(l.shouldWarn('a')).toBe(true);
    for (let i = 0; i < 1000; i++) expect(l.shouldWarn('a')).toBe(false);
    for (let i = 0; i < 10_000; i++) l.shouldWarn(`fp${i}`);
    expect(l.size).toBe(100);
    expect(l.suppressed).toBe(1000);
  });

  it('a flood of distinct tokens writes at most `budget` lines a window, then one count', () => {
    let t = 0;
    const l = new AuthWarningLimiter({ budget: 3, windowMs: 1000, now: () => t });
    const warned = Array.from({ length: 10 }, (_, i) => l.shouldWarn(`fp${i}`)).filter(Boolean).length;
    expect(warned).toBe(3);
    expect(l.takeDropped()).toBe(0); // the window has not ended: the count may still grow
    t += 1000;
    expect(l.shouldWarn('fp9')).toBe(true); // held back, not forgotten: a new window warns
    expect(l.takeDropped()).toBe(7);
    expect(l.takeDropped()).toBe(0);
    expect(l.shouldWarn('fp0')).toBe(false); // warned about already
    // A window that ends with only known tokens is still told by the next refusal.
    for (let i = 10; i < 20; i++) l.shouldWarn(`fp${i}`);
    t += 1000;
    expect(l.shouldWarn('fp0')).toBe(false);
    expect(l.takeDropped()).toBe(8); // fp12..fp19: fp9, fp10 and fp11 had that window's 3 lines
  });
});

describe('web app paths', () => {
  it('splits and decodes safe paths', () => {
    expect(safeSegments('a/b.js')).toEqual(['a', 'b.js']);
    expect(safeSegments('')).toEqual([]);
    expect(safeSegments('dir/my%20file.txt')).toEqual(['dir', 'my file.txt']);
  });

  it('refuses anything that could leave the folder', () => {
    for (const p of ['..', 'a/../../b', '%2e%2e/x', 'a%2fb', 'a%5cb', '..%5c..', '%00', 'x/./y', '%E0%A4%A']) {
      expect(safeSegments(p), p).toBeUndefined();
    }
  });
});

describe('contract keys in URLs', () => {
  it('accepts base58 of exactly 32 bytes in canonical form', () => {
    expect(isContractInstanceId('13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPpx')).toBe(true);
    expect(isContractInstanceId('11111111111111111111111111111111')).toBe(true);
    expect(isContractInstanceId('13R8CLpkV3NkhQJeEtFJEeK5zuWPdbaRZy2AzmRfHPp0')).toBe(false);
    expect(isContractInstanceId('2VfUX')).toBe(false);
    expect(isContractInstanceId('')).toBe(false);
    expect(isContractInstanceId('1'.repeat(45))).toBe(false);
  });
});
