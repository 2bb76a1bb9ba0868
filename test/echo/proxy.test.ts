import { test } from 'node:test'
import assert from 'node:assert/strict'
import { analyzeProxy, rememberedAnalyses } from '../../src/echo/proxy.ts'
import type { RemoteAddress } from '../../src/echo/types.ts'

const peer = (address: string): RemoteAddress => ({ address, port: 51000, family: address.includes(':') ? 'IPv6' : 'IPv4' })

/** [['Host', 'x'], …] → Node's flat rawHeaders array */
const raw = (pairs: [string, string][]): string[] => pairs.flat()

function warningsAbout (warnings: string[], word: string): string[] {
  return warnings.filter(w => w.includes(word))
}

test('a direct request with no proxy headers gives neither forwarded nor proxy', () => {
  const result = analyzeProxy(raw([
    ['Host', 'localhost:8080'],
    ['User-Agent', 'curl/8.5.0'],
    ['Accept', '*/*'],
    ['Authorization', 'Bearer abc'],
    ['Content-Type', 'application/json']
  ]), peer('127.0.0.1'))
  assert.deepEqual(result, {})
})

test('tracing headers an app sends by itself do not count as a proxy', () => {
  const result = analyzeProxy(raw([
    ['Host', 'svc:8080'],
    ['X-B3-TraceId', '80f198ee56343ba864fe8b2a57d3eff7'],
    ['X-B3-SpanId', 'e457b5a2e4d86bd1'],
    ['b3', '1'],
    ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']
  ]), peer('10.0.0.9'))
  assert.deepEqual(result, {})
})

test('nginx with the usual proxy_set_header lines', () => {
  const result = analyzeProxy(raw([
    ['Host', 'api.example.com'],
    ['X-Real-IP', '203.0.113.7'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Forwarded-Proto', 'https'],
    ['X-Original-URI', '/api/v1/orders?page=2'],
    ['Connection', 'close'],
    ['user-agent', 'Mozilla/5.0'],
    ['accept', 'application/json']
  ]), peer('10.0.0.5'))
  assert.deepEqual(result.forwarded, {
    xForwardedFor: ['203.0.113.7'],
    xForwardedProto: 'https',
    xRealIp: '203.0.113.7'
  })
  assert.deepEqual(result.proxy, {
    hops: [
      { source: 'x-forwarded-for', address: '203.0.113.7' },
      { source: 'peer', address: '10.0.0.5' }
    ],
    originalUrl: [{ header: 'x-original-uri', value: '/api/v1/orders?page=2' }],
    // X-Real-IP alone is set by too many products to name one
    gateways: [],
    warnings: []
  })
})

test('nginx announcing itself in Via is recognised', () => {
  const result = analyzeProxy(raw([
    ['Host', 'api.example.com'],
    ['Via', '1.1 nginx'],
    ['X-Forwarded-For', '203.0.113.7']
  ]), peer('10.0.0.5'))
  assert.deepEqual(result.proxy?.gateways, [{ name: 'nginx', evidence: ['via'] }])
  assert.deepEqual(result.proxy?.hops, [
    { source: 'x-forwarded-for', address: '203.0.113.7' },
    { source: 'via', via: '1.1 nginx' },
    { source: 'peer', address: '10.0.0.5' }
  ])
})

test('envoy edge proxy: fingerprints in arrival order and the path before a prefix rewrite', () => {
  const result = analyzeProxy(raw([
    ['host', 'users.internal'],
    ['user-agent', 'okhttp/4.12.0'],
    ['x-forwarded-for', '198.51.100.23'],
    ['x-forwarded-proto', 'https'],
    ['x-envoy-external-address', '198.51.100.23'],
    ['x-request-id', '8c4d2a3e-5b6f-4e1d-9a0b-2c3d4e5f6a7b'],
    ['x-envoy-expected-rq-timeout-ms', '15000'],
    ['x-envoy-original-path', '/api/users/42']
  ]), peer('10.244.1.17'))
  assert.deepEqual(result.proxy?.gateways, [{
    name: 'envoy',
    evidence: ['x-envoy-external-address', 'x-envoy-expected-rq-timeout-ms', 'x-envoy-original-path']
  }])
  assert.deepEqual(result.proxy?.originalUrl, [{ header: 'x-envoy-original-path', value: '/api/users/42' }])
  assert.deepEqual(result.proxy?.warnings, [])
})

test('an Istio sidecar shows as envoy and istio', () => {
  const result = analyzeProxy(raw([
    ['host', 'reviews:9080'],
    ['x-forwarded-proto', 'http'],
    ['x-request-id', '6b1b5c7e-0d5f-9a1c-b1e4-2f3a4b5c6d7e'],
    ['x-envoy-attempt-count', '1'],
    ['x-forwarded-client-cert', 'By=spiffe://cluster.local/ns/default/sa/reviews;Hash=4f1e;Subject="";URI=spiffe://cluster.local/ns/default/sa/productpage'],
    ['x-b3-traceid', '80f198ee56343ba864fe8b2a57d3eff7'],
    ['x-b3-spanid', 'e457b5a2e4d86bd1'],
    ['x-b3-parentspanid', '05e3ac9a4f6e3b90'],
    ['x-b3-sampled', '1']
  ]), peer('127.0.0.6'))
  assert.deepEqual(result.proxy?.gateways, [
    { name: 'envoy', evidence: ['x-envoy-attempt-count'] },
    { name: 'istio', evidence: ['x-forwarded-client-cert', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled'] }
  ])
  assert.deepEqual(result.forwarded, { xForwardedProto: 'http' })
})

test('traefik: X-Forwarded-Server together with X-Real-Ip', () => {
  const result = analyzeProxy(raw([
    ['Host', 'whoami.localhost'],
    ['User-Agent', 'curl/8.5.0'],
    ['Accept', '*/*'],
    ['Accept-Encoding', 'gzip'],
    ['X-Forwarded-For', '172.18.0.1'],
    ['X-Forwarded-Host', 'whoami.localhost'],
    ['X-Forwarded-Port', '80'],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Server', '5a8e4b1f3c2d'],
    ['X-Real-Ip', '172.18.0.1']
  ]), peer('172.18.0.3'))
  assert.deepEqual(result.forwarded, {
    xForwardedFor: ['172.18.0.1'],
    xForwardedHost: 'whoami.localhost',
    xForwardedProto: 'http',
    xForwardedPort: '80',
    xRealIp: '172.18.0.1'
  })
  assert.deepEqual(result.proxy?.gateways, [{ name: 'traefik', evidence: ['x-forwarded-server', 'x-real-ip'] }])
  assert.deepEqual(result.proxy?.warnings, [])
})

test('AWS ALB', () => {
  const result = analyzeProxy(raw([
    ['X-Forwarded-For', '203.0.113.10'],
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-Port', '443'],
    ['Host', 'my-alb-1234567890.eu-west-1.elb.amazonaws.com'],
    ['X-Amzn-Trace-Id', 'Root=1-67891233-abcdef012345678912345678'],
    ['user-agent', 'curl/8.5.0']
  ]), peer('10.0.12.34'))
  assert.deepEqual(result.proxy?.gateways, [{ name: 'aws', evidence: ['x-amzn-trace-id'] }])
  assert.equal(result.forwarded?.xForwardedPort, '443')
  assert.deepEqual(result.proxy?.warnings, [])
})

test('CloudFront in front of an ALB names both', () => {
  const result = analyzeProxy(raw([
    ['Host', 'origin.example.com'],
    ['Via', '2.0 4c9a5c2a8f3b2d1e.cloudfront.net (CloudFront)'],
    ['X-Amz-Cf-Id', 'Tr3hX8q0l6d1X9mR0vJ5k2w4bY7cN1aZ3eF6gH8iJ0kL2mN4oP6q=='],
    ['X-Forwarded-For', '198.51.100.77, 15.158.35.21'],
    ['X-Amzn-Trace-Id', 'Root=1-67891233-abcdef012345678912345678'],
    ['CloudFront-Viewer-Country', 'NL']
  ]), peer('10.0.1.9'))
  assert.deepEqual(result.proxy?.gateways, [
    { name: 'aws', evidence: ['x-amzn-trace-id'] },
    { name: 'cloudfront', evidence: ['x-amz-cf-id', 'cloudfront-viewer-country', 'via'] }
  ])
})

test('Cloudflare over IPv6', () => {
  const result = analyzeProxy(raw([
    ['Host', 'www.example.com'],
    ['CF-Connecting-IP', '2001:db8:1::7'],
    ['CF-IPCountry', 'DE'],
    ['CF-RAY', '8a1b2c3d4e5f6789-FRA'],
    ['CF-Visitor', '{"scheme":"https"}'],
    ['X-Forwarded-For', '2001:db8:1::7'],
    ['X-Forwarded-Proto', 'https'],
    ['CDN-Loop', 'cloudflare']
  ]), peer('2400:cb00:2049:1::a29f:1804'))
  assert.deepEqual(result.proxy?.gateways, [{
    name: 'cloudflare',
    evidence: ['cf-connecting-ip', 'cf-ipcountry', 'cf-ray', 'cf-visitor', 'cdn-loop']
  }])
  assert.deepEqual(result.proxy?.hops, [
    { source: 'x-forwarded-for', address: '2001:db8:1::7' },
    { source: 'peer', address: '2400:cb00:2049:1::a29f:1804' }
  ])
  assert.deepEqual(result.proxy?.warnings, [])
})

test('Google Cloud load balancer appends its own address, which is flagged as a 2-entry chain', () => {
  const result = analyzeProxy(raw([
    ['Host', 'shop.example.com'],
    ['X-Cloud-Trace-Context', '105445aa7843bc8bf206b12000100000/1;o=1'],
    ['Via', '1.1 google'],
    ['X-Forwarded-For', '198.51.100.4,34.120.0.9'],
    ['X-Forwarded-Proto', 'https']
  ]), peer('35.191.0.1'))
  assert.deepEqual(result.proxy?.gateways, [{ name: 'gcp', evidence: ['x-cloud-trace-context', 'via'] }])
  assert.deepEqual(result.forwarded?.xForwardedFor, ['198.51.100.4', '34.120.0.9'])
  assert.equal(result.proxy?.warnings.length, 1)
  assert.match(result.proxy!.warnings[0], /left-most address 198\.51\.100\.4 is whatever the client sent/)
})

test('Azure Front Door, Kong, Fastly and Akamai fingerprints', () => {
  const result = analyzeProxy(raw([
    ['Host', 'app.example.com'],
    ['X-Azure-Ref', '0zxV+YwAAAABq3Pj2p1ppQ6i3Pb1Jt2JgU1RPRURHRTA4MTMAZDJjMDFiMWUtMzNmMi00ZWM5LThkYTgtYmE2NTg2NjU4NTk4'],
    ['X-Azure-FDID', 'a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'],
    ['X-Kong-Request-Id', '5d0e4a3f2c1b'],
    ['Via', '1.1 kong/3.6.1'],
    ['Fastly-Client-IP', '203.0.113.50'],
    ['Akamai-Origin-Hop', '2']
  ]), peer('10.1.0.4'))
  assert.deepEqual(result.proxy?.gateways.map(g => g.name), ['kong', 'azure', 'fastly', 'akamai'])
  assert.deepEqual(result.proxy?.gateways.find(g => g.name === 'kong')?.evidence, ['x-kong-request-id', 'via'])
  assert.deepEqual(result.proxy?.gateways.find(g => g.name === 'azure')?.evidence, ['x-azure-ref', 'x-azure-fdid'])
  // only fingerprints, no address headers: nothing to put in `forwarded`
  assert.equal(result.forwarded, undefined)
})

test('a spoofed X-Forwarded-For: the client-sent left-most entry is called out', () => {
  // client sent "X-Forwarded-For: 1.2.3.4", nginx appended the real address and set X-Real-IP
  const result = analyzeProxy(raw([
    ['Host', 'api.example.com'],
    ['X-Forwarded-For', '1.2.3.4, 198.51.100.9'],
    ['X-Real-IP', '198.51.100.9']
  ]), peer('10.0.0.5'))
  const warnings = result.proxy!.warnings
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /^X-Forwarded-For "1\.2\.3\.4, 198\.51\.100\.9" has 2 entries: the left-most address 1\.2\.3\.4 is whatever the client sent and can be spoofed; trust only the right-most entries your own proxies appended\.$/)
  assert.deepEqual(result.proxy?.hops.map(h => h.address), ['1.2.3.4', '198.51.100.9', '10.0.0.5'])
})

test('X-Forwarded-For on several lines is concatenated in order and warned about', () => {
  const result = analyzeProxy(raw([
    ['Host', 'api.example.com'],
    ['X-Forwarded-For', '203.0.113.1'],
    ['x-forwarded-for', '198.51.100.2, 10.0.0.3']
  ]), peer('10.0.0.4'))
  assert.deepEqual(result.forwarded?.xForwardedFor, ['203.0.113.1', '198.51.100.2', '10.0.0.3'])
  const lines = warningsAbout(result.proxy!.warnings, 'separate header lines')
  assert.equal(lines.length, 1)
  assert.match(lines[0], /arrived on 2 separate header lines \("203\.0\.113\.1", "198\.51\.100\.2, 10\.0\.0\.3"\)/)
})

test('duplicate Host and X-Forwarded-Host are warned about', () => {
  const result = analyzeProxy(raw([
    ['Host', 'shop.example.com'],
    ['X-Forwarded-Host', 'shop.example.com'],
    ['Host', 'evil.example'],
    ['X-Forwarded-Host', 'evil.example']
  ]), peer('10.0.0.4'))
  assert.equal(result.forwarded?.xForwardedHost, 'shop.example.com, evil.example')
  const warnings = result.proxy!.warnings
  assert.equal(warnings.length, 2)
  assert.match(warnings[0], /^Host arrived 2 times \("shop\.example\.com", "evil\.example"\)/)
  assert.match(warnings[1], /^X-Forwarded-Host arrived 2 times \("shop\.example\.com", "evil\.example"\)/)
})

test('a duplicated Host alone is enough to produce the proxy section', () => {
  const result = analyzeProxy(raw([['Host', 'a.example'], ['Host', 'b.example']]), peer('192.0.2.1'))
  assert.equal(result.forwarded, undefined)
  assert.deepEqual(result.proxy?.hops, [{ source: 'peer', address: '192.0.2.1' }])
  assert.equal(result.proxy?.warnings.length, 1)
})

test('RFC 7239 Forwarded builds the hops with by, proto and host', () => {
  const result = analyzeProxy(raw([
    ['Host', 'example.com'],
    ['Forwarded', 'for=192.0.2.43;proto=https;host=example.com, for="[2001:db8:cafe::17]:4711";by=203.0.113.43']
  ]), peer('203.0.113.43'))
  assert.deepEqual(result.forwarded, {
    forwarded: [
      { for: '192.0.2.43', proto: 'https', host: 'example.com' },
      { for: '[2001:db8:cafe::17]:4711', by: '203.0.113.43' }
    ]
  })
  assert.deepEqual(result.proxy?.hops, [
    { source: 'forwarded', address: '192.0.2.43', proto: 'https', host: 'example.com' },
    { source: 'forwarded', address: '[2001:db8:cafe::17]:4711', by: '203.0.113.43' },
    { source: 'peer', address: '203.0.113.43' }
  ])
  assert.equal(result.proxy?.warnings.length, 1)
  assert.match(result.proxy!.warnings[0], /^Forwarded has 2 elements: the left-most for=192\.0\.2\.43 is whatever the client sent/)
})

test('a malformed Forwarded line is reported and the well-formed ones are kept', () => {
  const result = analyzeProxy(raw([
    ['Host', 'example.com'],
    ['Forwarded', 'for=[2001:db8::1]:4711'],
    ['Forwarded', 'for=192.0.2.60;proto=http;by=203.0.113.43']
  ]), peer('203.0.113.43'))
  assert.deepEqual(result.forwarded?.forwarded, [{ for: '192.0.2.60', proto: 'http', by: '203.0.113.43' }])
  const warnings = result.proxy!.warnings
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /^Forwarded value "for=\[2001:db8::1\]:4711" is not valid RFC 7239 \(Unexpected character '\[' at index 4\)/)
})

test('a Forwarded header that does not parse at all still yields a proxy section with the warning', () => {
  const result = analyzeProxy(raw([['Host', 'example.com'], ['Forwarded', 'for=']]), peer('10.0.0.1'))
  assert.equal(result.forwarded, undefined)
  assert.deepEqual(result.proxy?.hops, [{ source: 'peer', address: '10.0.0.1' }])
  assert.equal(warningsAbout(result.proxy!.warnings, 'not valid RFC 7239').length, 1)
})

test('Forwarded and X-Forwarded-For that disagree', () => {
  const result = analyzeProxy(raw([
    ['Forwarded', 'for=192.0.2.43'],
    ['X-Forwarded-For', '198.51.100.1'],
    ['Host', 'example.com']
  ]), peer('10.0.0.2'))
  // Forwarded is the standard, so it drives the hops
  assert.deepEqual(result.proxy?.hops.map(h => h.source), ['forwarded', 'peer'])
  const disagree = warningsAbout(result.proxy!.warnings, 'but X-Forwarded-For says')
  assert.equal(disagree.length, 1)
  assert.match(disagree[0], /^Forwarded says for="192\.0\.2\.43" but X-Forwarded-For says "198\.51\.100\.1"/)
})

test('Forwarded and X-Forwarded-For that agree (ports and IPv6 spelling aside) raise no disagreement', () => {
  const result = analyzeProxy(raw([
    ['Forwarded', 'for=192.0.2.43, for="[2001:DB8:0:0::1]:4711"'],
    ['X-Forwarded-For', '192.0.2.43, 2001:db8::1']
  ]), peer('10.0.0.2'))
  const warnings = result.proxy!.warnings
  assert.deepEqual(warningsAbout(warnings, 'but X-Forwarded-For says'), [])
  // one spoofing warning, not one per header
  assert.equal(warningsAbout(warnings, 'can be spoofed').length, 1)
})

test('entries that are not IP addresses are named', () => {
  const result = analyzeProxy(raw([
    ['X-Forwarded-For', 'unknown, <script>, 10.0.0.1'],
    ['Forwarded', 'for=unknown, for=_hidden, for=proxy.example'],
    ['X-Real-IP', 'localhost']
  ]), peer('10.0.0.2'))
  const warnings = result.proxy!.warnings
  assert.ok(warnings.includes('X-Forwarded-For entries "unknown", "<script>" are not IP addresses, so code that reads the chain may reject them or take them for the client.'))
  // "unknown" and "_hidden" are legal RFC 7239 identifiers; only the host name is flagged
  assert.ok(warnings.includes('Forwarded for="proxy.example" is neither an IP address nor an RFC 7239 obfuscated identifier ("unknown" or "_name").'))
  assert.ok(warnings.includes('X-Real-IP "localhost" is not an IP address.'))
})

test('an X-Forwarded-For entry with a port is accepted as an address but flagged', () => {
  const result = analyzeProxy(raw([['X-Forwarded-For', '203.0.113.7:51234']]), peer('10.0.0.2'))
  const warnings = result.proxy!.warnings
  assert.deepEqual(warnings, [
    'X-Forwarded-For entry "203.0.113.7:51234" carries a port (Azure Application Gateway does this), which many frameworks cannot match against their trusted proxies.'
  ])
})

test('X-Real-IP that is not the right-most X-Forwarded-For entry', () => {
  const result = analyzeProxy(raw([
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Real-IP', '198.51.100.99']
  ]), peer('10.0.0.2'))
  assert.deepEqual(result.proxy?.warnings, [
    'X-Real-IP 198.51.100.99 is not the right-most X-Forwarded-For entry 203.0.113.7, so the proxies in front disagree about the client address; check which header your app trusts.'
  ])
})

test('X-Real-IP written as an IPv4-mapped IPv6 address matches its IPv4 X-Forwarded-For entry', () => {
  const result = analyzeProxy(raw([
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Real-IP', '::ffff:203.0.113.7']
  ]), peer('10.0.0.2'))
  assert.deepEqual(result.proxy?.warnings, [])
})

test('X-Forwarded-Proto with several values and a non-numeric X-Forwarded-Port', () => {
  const result = analyzeProxy(raw([
    ['X-Forwarded-Proto', 'https, http'],
    ['X-Forwarded-Port', '443, 80']
  ]), peer('10.0.0.2'))
  const warnings = result.proxy!.warnings
  assert.equal(warnings.length, 2)
  assert.match(warnings[0], /^X-Forwarded-Proto "https, http" holds several values/)
  assert.match(warnings[1], /^X-Forwarded-Port "443, 80" is not a single port number/)
})

test('X-Real-IP alone becomes the client hop; X-Forwarded-Prefix is both forwarded info and an original URL', () => {
  const result = analyzeProxy(raw([
    ['X-Real-IP', '203.0.113.7'],
    ['X-Forwarded-Prefix', '/billing']
  ]), peer('10.0.0.2'))
  assert.deepEqual(result.proxy?.hops, [
    { source: 'x-real-ip', address: '203.0.113.7' },
    { source: 'peer', address: '10.0.0.2' }
  ])
  assert.equal(result.forwarded?.xForwardedPrefix, '/billing')
  assert.deepEqual(result.proxy?.originalUrl, [{ header: 'x-forwarded-prefix', value: '/billing' }])
})

test('Via entries keep their comments, even with commas inside', () => {
  const result = analyzeProxy(raw([
    ['Via', '1.0 fred, 1.1 p.example.net (Apache/2.4, mod_proxy)'],
    ['Via', '1.1 varnish (Varnish/7.1)']
  ]), peer('10.0.0.2'))
  assert.deepEqual(result.proxy?.hops, [
    { source: 'via', via: '1.0 fred' },
    { source: 'via', via: '1.1 p.example.net (Apache/2.4, mod_proxy)' },
    { source: 'via', via: '1.1 varnish (Varnish/7.1)' },
    { source: 'peer', address: '10.0.0.2' }
  ])
  assert.deepEqual(result.proxy?.gateways, [{ name: 'varnish', evidence: ['via'] }])
})

test('header names match in any case', () => {
  const result = analyzeProxy(raw([['X-FORWARDED-FOR', '203.0.113.7'], ['x-EnVoY-Attempt-Count', '1']]), peer('10.0.0.2'))
  assert.deepEqual(result.forwarded, { xForwardedFor: ['203.0.113.7'] })
  assert.deepEqual(result.proxy?.gateways, [{ name: 'envoy', evidence: ['x-envoy-attempt-count'] }])
})

test('a huge spoofed value is shortened in the warning', () => {
  const long = Array.from({ length: 400 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(', ')
  const result = analyzeProxy(raw([['X-Forwarded-For', long]]), peer('10.0.0.2'))
  const warning = result.proxy!.warnings[0]
  assert.ok(warning.length < 400, `warning is ${warning.length} chars`)
  assert.match(warning, /…" has 400 entries/)
})

test('a left-most entry that is not an address is quoted in the spoofing warning', () => {
  const result = analyzeProxy(raw([['X-Forwarded-For', 'x" onmouseover="alert(1), 10.0.0.1']]), peer('10.0.0.2'))
  assert.match(result.proxy!.warnings[0], /the left-most address "x\\" onmouseover=\\"alert\(1\)" is whatever the client sent/)
})

test('detection keeps working after thousands of distinct junk header names', () => {
  const junk: [string, string][] = Array.from({ length: 3000 }, (_, i) => [`X-Junk-${i}`, 'v'])
  analyzeProxy(raw(junk), peer('10.0.0.2'))
  const result = analyzeProxy(raw([['X-Forwarded-For', '203.0.113.7'], ['X-Amzn-Trace-Id', 'Root=1-a-b']]), peer('10.0.0.2'))
  assert.deepEqual(result.forwarded, { xForwardedFor: ['203.0.113.7'] })
  assert.deepEqual(result.proxy?.gateways, [{ name: 'aws', evidence: ['x-amzn-trace-id'] }])
})

test('a remembered analysis is reused only for the same proxy headers, in the same order, from the same peer', () => {
  const headers = raw([['Host', 'a'], ['X-Forwarded-For', '203.0.113.7'], ['Via', '1.1 envoy']])
  const first = analyzeProxy(headers, peer('10.0.0.1'))
  assert.equal(analyzeProxy([...headers], peer('10.0.0.1')), first, 'same headers, same peer: the same result')
  // A header no analysis reads does not change the key.
  assert.equal(analyzeProxy([...headers, 'User-Agent', 'curl/8'], peer('10.0.0.1')), first)
  const otherPeer = analyzeProxy(headers, peer('10.0.0.2'))
  assert.deepEqual(otherPeer.proxy?.hops.at(-1), { source: 'peer', address: '10.0.0.2' })
  const reordered = analyzeProxy(raw([['Host', 'a'], ['Via', '1.1 envoy'], ['X-Forwarded-For', '203.0.113.7']]), peer('10.0.0.1'))
  assert.deepEqual(reordered, first, 'the same analysis...')
  assert.notEqual(reordered, first, '...worked out again, since order can matter (evidence lists, repeated headers)')
  // The first Host counts once a second one arrives: these two must not share a result.
  const twoHosts = analyzeProxy(raw([['Host', 'a'], ['Host', 'b']]), peer('10.0.0.1'))
  const otherTwoHosts = analyzeProxy(raw([['Host', 'c'], ['Host', 'b']]), peer('10.0.0.1'))
  assert.match(twoHosts.proxy?.warnings[0] ?? '', /"a", "b"/)
  assert.match(otherTwoHosts.proxy?.warnings[0] ?? '', /"c", "b"/)
})

test('clients sending ever new proxy headers cannot grow the remembered analyses, and each is still right', () => {
  for (let i = 0; i < 5000; i++) {
    const address = `198.51.${i >> 8}.${i & 255}`
    const result = analyzeProxy(raw([['X-Forwarded-For', address]]), peer('127.0.0.1'))
    assert.deepEqual(result.forwarded?.xForwardedFor, [address])
  }
  assert.ok(rememberedAnalyses() <= 1024, `${rememberedAnalyses()} remembered`)
  const huge = 'x'.repeat(5000)
  assert.deepEqual(analyzeProxy(raw([['X-Forwarded-For', huge]]), peer('127.0.0.1')).forwarded?.xForwardedFor, [huge])
})
