import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseTrace } from '../../src/echo/trace.ts'

const W3C_EXAMPLE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

test('no tracing headers gives undefined', () => {
  assert.equal(parseTrace({ host: 'localhost', 'user-agent': 'curl/8.5.0', accept: '*/*' }), undefined)
})

test('a valid sampled traceparent with its tracestate', () => {
  const trace = parseTrace({
    traceparent: W3C_EXAMPLE,
    tracestate: 'rojo=00f067aa0ba902b7, congo=t61rcWkgMzE'
  })
  assert.deepEqual(trace, {
    traceparent: {
      version: '00',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
      sampled: true,
      valid: true
    },
    tracestate: { rojo: '00f067aa0ba902b7', congo: 't61rcWkgMzE' }
  })
})

test('flags 00 means not sampled', () => {
  const trace = parseTrace({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' })
  assert.equal(trace?.traceparent?.sampled, false)
  assert.equal(trace?.traceparent?.valid, true)
})

test('malformed traceparents are invalid but still show their pieces', () => {
  const cases: [string, string][] = [
    ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'all-zero trace-id'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 'all-zero parent-id'],
    ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', 'upper-case hex'],
    ['00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01', 'trace-id one digit short'],
    ['ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'version ff is forbidden'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', 'version 00 has exactly four fields'],
    ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1', 'one-digit flags']
  ]
  for (const [value, why] of cases) {
    const parent = parseTrace({ traceparent: value })?.traceparent
    assert.equal(parent?.valid, false, why)
    assert.equal(parent?.version, value.split('-')[0], why)
    assert.equal(parent?.traceId, value.split('-')[1], why)
  }
})

test('garbage traceparent: invalid, unsampled, raw pieces kept', () => {
  assert.deepEqual(parseTrace({ traceparent: 'hello-world' })?.traceparent, {
    version: 'hello', traceId: 'world', parentId: '', flags: '', sampled: false, valid: false
  })
})

test('a later version may append fields and stays valid', () => {
  const parent = parseTrace({ traceparent: '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-future' })?.traceparent
  assert.equal(parent?.valid, true)
  assert.equal(parent?.sampled, true)
})

test('two traceparent headers (joined by Node, or as an array) are invalid', () => {
  assert.equal(parseTrace({ traceparent: `${W3C_EXAMPLE}, ${W3C_EXAMPLE}` })?.traceparent?.valid, false)
  assert.equal(parseTrace({ traceparent: [W3C_EXAMPLE, W3C_EXAMPLE] })?.traceparent?.valid, false)
})

test('tracestate: the left-most duplicate wins and odd keys stay plain data', () => {
  const state = parseTrace({ tracestate: 'a=1,,b=2,a=3,novalue,__proto__=x' })?.tracestate
  assert.equal(state?.a, '1')
  assert.equal(state?.b, '2')
  assert.equal(Object.getPrototypeOf(state), Object.prototype)
  assert.equal(Object.getOwnPropertyDescriptor(state, '__proto__')?.value, 'x')
  assert.deepEqual(Object.keys(state!), ['a', 'b', '__proto__'])
})

test('B3 multi-header as Istio/Zipkin send it', () => {
  const trace = parseTrace({
    'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
    'x-b3-spanid': 'e457b5a2e4d86bd1',
    'x-b3-parentspanid': '05e3ac9a4f6e3b90',
    'x-b3-sampled': '1',
    'x-b3-flags': '1'
  })
  assert.deepEqual(trace, {
    b3: {
      traceId: '80f198ee56343ba864fe8b2a57d3eff7',
      spanId: 'e457b5a2e4d86bd1',
      parentSpanId: '05e3ac9a4f6e3b90',
      sampled: '1',
      flags: '1'
    }
  })
})

test('B3 single header, full and sampling-only', () => {
  assert.deepEqual(parseTrace({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90' })?.b3, {
    traceId: '80f198ee56343ba864fe8b2a57d3eff7',
    spanId: 'e457b5a2e4d86bd1',
    sampled: '1',
    parentSpanId: '05e3ac9a4f6e3b90'
  })
  assert.deepEqual(parseTrace({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1' })?.b3, {
    traceId: '80f198ee56343ba864fe8b2a57d3eff7',
    spanId: 'e457b5a2e4d86bd1'
  })
  assert.deepEqual(parseTrace({ b3: '0' })?.b3, { sampled: '0' })
})

test('the b3 single header wins over x-b3-* where both say something', () => {
  const b3 = parseTrace({ b3: 'd', 'x-b3-sampled': '0', 'x-b3-traceid': '463ac35c9f6413ad' })?.b3
  assert.deepEqual(b3, { traceId: '463ac35c9f6413ad', sampled: 'd' })
})

test('x-request-id and an AWS X-Ray header from an ALB', () => {
  const trace = parseTrace({
    'x-request-id': '8c4d2a3e-5b6f-4e1d-9a0b-2c3d4e5f6a7b',
    'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
  })
  assert.deepEqual(trace, {
    requestId: '8c4d2a3e-5b6f-4e1d-9a0b-2c3d4e5f6a7b',
    amznTraceId: { Root: '1-5759e988-bd862e3fe1be46a994272793', Parent: '53995c3f42cd8ad8', Sampled: '1' }
  })
})

test('an X-Ray header with Self from a second ALB', () => {
  const trace = parseTrace({ 'x-amzn-trace-id': 'Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678' })
  assert.deepEqual(trace?.amznTraceId, {
    Self: '1-67891234-12456789abcdef012345678',
    Root: '1-67891233-abcdef012345678912345678'
  })
})
