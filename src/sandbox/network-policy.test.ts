import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { classifyAddress, NetworkPolicy, parseAllowEntry } from './network-policy.ts';

function denialOf(policy: NetworkPolicy, url: string): string {
  const decision = policy.check(url);
  if (decision.allowed) throw new Error(`expected ${url} to be denied`);
  return decision.reason;
}

describe('NetworkPolicy', () => {
  it('denies everything when nothing is allowed', () => {
    const policy = new NetworkPolicy([]);
    expect(denialOf(policy, 'https://api.example.com/x')).toBe(
      'Host "api.example.com" is not in network.allow; add "api.example.com" to network.allow to let tools reach it.',
    );
  });

  it('allows a listed host on its scheme default port only, and an explicit port only when listed', () => {
    const policy = new NetworkPolicy(['api.example.com', 'data.example.com:8443']);
    expect(policy.check('https://api.example.com/v1?q=1')).toMatchObject({
      allowed: true,
      port: 443,
      allowPrivate: false,
    });
    expect(policy.check('http://API.Example.com/')).toMatchObject({ allowed: true, port: 80 });
    expect(denialOf(policy, 'https://api.example.com:8443/')).toContain(
      '"api.example.com:8443" is not in network.allow',
    );
    expect(policy.check('https://data.example.com:8443/')).toMatchObject({
      allowed: true,
      allowPrivate: false,
    });
    expect(denialOf(policy, 'https://data.example.com/')).toContain(
      '"data.example.com" is not in network.allow',
    );
    expect(denialOf(policy, 'https://evil-api.example.com/')).toContain('not in network.allow');
    expect(denialOf(policy, 'https://api.example.com.evil.test/')).toContain('not in network.allow');
  });

  it('matches wildcard entries against subdomains but not the apex', () => {
    const policy = new NetworkPolicy(['*.example.com']);
    expect(policy.check('https://a.b.example.com/').allowed).toBe(true);
    expect(policy.check('https://example.com/').allowed).toBe(false);
    expect(policy.check('https://badexample.com/').allowed).toBe(false);
  });

  it('denies schemes other than http and https', () => {
    const policy = new NetworkPolicy(['example.com']);
    for (const url of [
      'file:///etc/passwd',
      'data:text/plain,hi',
      'ftp://example.com/',
      'javascript:alert(1)',
      'ws://example.com/',
    ]) {
      const decision = policy.check(url);
      expect(decision).toMatchObject({ allowed: false, kind: 'denied' });
      expect(denialOf(policy, url)).toMatch(
        /scheme is not allowed: tools can only fetch http: and https: URLs/,
      );
    }
  });

  it('treats unparsable URLs and URLs with credentials as invalid, not denied', () => {
    const policy = new NetworkPolicy(['example.com']);
    expect(policy.check('not a url')).toMatchObject({ allowed: false, kind: 'invalid' });
    expect(policy.check('https://user:pass@example.com/')).toMatchObject({ allowed: false, kind: 'invalid' });
  });

  it('canonicalises every spelling of loopback before checking, and denies it unless host:port is listed exactly', () => {
    const policy = new NetworkPolicy(['127.0.0.1', '[::1]']);
    for (const url of [
      'http://127.1/',
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://0177.0.0.1/',
      'http://127.0.0.1/',
    ]) {
      expect(denialOf(policy, url)).toBe(
        'Address 127.0.0.1 is a loopback address; non-public addresses are only reachable when "127.0.0.1:80" (host and port) is listed exactly in network.allow.',
      );
    }
    expect(denialOf(policy, 'http://[::1]/')).toContain('Address ::1 is a loopback address');
    const exact = new NetworkPolicy(['127.0.0.1:8787']);
    expect(exact.check('http://127.1:8787/x')).toMatchObject({
      allowed: true,
      hostname: '127.0.0.1',
      allowPrivate: true,
    });
    expect(exact.check('http://2130706433:8787/')).toMatchObject({ allowed: true });
    expect(denialOf(exact, 'http://127.0.0.1:8788/')).toContain('"127.0.0.1:8788" is not in network.allow');
  });

  it('denies the metadata service and private ranges even when the host is listed without a port', () => {
    const policy = new NetworkPolicy([
      '169.254.169.254',
      '10.1.2.3',
      '192.168.1.1',
      '[fd00:ec2::254]',
      '[::ffff:7f00:1]',
    ]);
    expect(denialOf(policy, 'http://169.254.169.254/latest/meta-data/')).toContain('is a link-local address');
    expect(denialOf(policy, 'http://10.1.2.3/')).toContain('is a private address');
    expect(denialOf(policy, 'http://192.168.1.1/')).toContain('is a private address');
    expect(denialOf(policy, 'http://[fd00:ec2::254]/')).toContain('is a private address');
    expect(denialOf(policy, 'http://[::ffff:127.0.0.1]/')).toContain('is a loopback address');
  });

  it('checks resolved addresses with addressDenial', () => {
    const policy = new NetworkPolicy([]);
    expect(policy.addressDenial('93.184.216.34', 443, false)).toBeUndefined();
    expect(policy.addressDenial('127.0.0.1', 443, false)).toContain('loopback');
    expect(policy.addressDenial('127.0.0.1', 443, true)).toBeUndefined();
    expect(policy.addressDenial('127.0.0.1', 8787, false, 'localhost')).toContain(
      'list "localhost:8787 allow-private" in network.allow',
    );
    expect(policy.addressDenial('api.example.com', 443, false)).toBeUndefined();
  });
});

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'reserved'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['2001:db8::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['[::1]', 'loopback'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('returns undefined for host names and malformed addresses', () => {
    for (const text of ['example.com', '1.2.3', '1.2.3.256', '1::2::3', 'fe80::1::', '12345::1']) {
      expect(classifyAddress(text)).toBeUndefined();
    }
  });
});

describe('parseAllowEntry', () => {
  it('parses host, port and wildcard entries into canonical form', () => {
    expect(parseAllowEntry('API.Example.com', 'x')).toEqual({
      host: 'api.example.com',
      port: undefined,
      wildcard: false,
      allowPrivate: false,
    });
    expect(parseAllowEntry('127.1:8080', 'x')).toEqual({
      host: '127.0.0.1',
      port: 8080,
      wildcard: false,
      allowPrivate: true,
    });
    expect(parseAllowEntry('*.example.com:443', 'x')).toEqual({
      host: 'example.com',
      port: 443,
      wildcard: true,
      allowPrivate: false,
    });
    expect(parseAllowEntry('[::1]:9000', 'x')).toEqual({
      host: '::1',
      port: 9000,
      wildcard: false,
      allowPrivate: true,
    });
    expect(parseAllowEntry('localhost:9000', 'x')).toMatchObject({ host: 'localhost', allowPrivate: false });
    expect(parseAllowEntry(' DB.Internal:5432  allow-private ', 'x')).toEqual({
      host: 'db.internal',
      port: 5432,
      wildcard: false,
      allowPrivate: true,
    });
    expect(parseAllowEntry('*.corp.example allow-private', 'x')).toMatchObject({
      wildcard: true,
      allowPrivate: true,
    });
  });

  it.each([
    ['https://api.example.com'],
    ['api.example.com/path'],
    ['user@api.example.com'],
    ['api.example.com:0'],
    ['api.example.com:70000'],
    ['*.127.0.0.1'],
    [''],
    ['two words'],
  ])('rejects %j with an InvalidOptionError naming the entry', (entry) => {
    const error = (() => {
      try {
        new NetworkPolicy(['ok.example.com', entry]);
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as InvalidOptionError).option).toBe('network.allow[1]');
    expect((error as InvalidOptionError).value).toBe(entry);
  });
});
