import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeBearerJwt, decodeHeaderJwts } from '../../src/echo/jwt.ts'

const NOW = new Date('2025-06-01T12:00:00.000Z')
const nowSeconds = NOW.getTime() / 1000

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
const fakeSignature = Buffer.from('not a real signature').toString('base64url')

function token (header: unknown, payload: unknown): string {
  return `${b64url(header)}.${b64url(payload)}.${fakeSignature}`
}

const HEADER = { alg: 'RS256', typ: 'JWT', kid: 'key-2025-05' }

test('a valid (unexpired) token is decoded with its dates, never verified', () => {
  const payload = {
    iss: 'https://auth.example.com/',
    sub: 'user-42',
    aud: ['orders-api'],
    scope: 'orders:read',
    iat: nowSeconds - 60,
    nbf: nowSeconds - 60,
    exp: nowSeconds + 3600
  }
  assert.deepEqual(decodeBearerJwt(`Bearer ${token(HEADER, payload)}`, NOW), {
    header: HEADER,
    payload,
    verified: false,
    issuedAt: '2025-06-01T11:59:00.000Z',
    notBefore: '2025-06-01T11:59:00.000Z',
    expiresAt: '2025-06-01T13:00:00.000Z',
    expired: false
  })
})

test('an expired token says so', () => {
  const jwt = decodeBearerJwt(`Bearer ${token(HEADER, { sub: 'u', iat: nowSeconds - 7200, exp: nowSeconds - 3600 })}`, NOW)
  assert.equal(jwt?.expired, true)
  assert.equal(jwt?.expiresAt, '2025-06-01T11:00:00.000Z')
  assert.equal(jwt?.verified, false)
})

test('a token is expired from the very second of exp on', () => {
  assert.equal(decodeBearerJwt(`Bearer ${token(HEADER, { exp: nowSeconds })}`, NOW)?.expired, true)
  assert.equal(decodeBearerJwt(`Bearer ${token(HEADER, { exp: nowSeconds + 1 })}`, NOW)?.expired, false)
})

test('without exp there is no expired flag; non-numeric or absurd dates are left out', () => {
  const jwt = decodeBearerJwt(`Bearer ${token(HEADER, { sub: 'u', iat: 'yesterday', nbf: 1e20 })}`, NOW)
  assert.ok(jwt)
  assert.equal('expired' in jwt, false)
  assert.equal('expiresAt' in jwt, false)
  assert.equal('issuedAt' in jwt, false)
  assert.equal('notBefore' in jwt, false)
  assert.equal(jwt.payload.iat, 'yesterday')
})

test('the scheme is case-insensitive and extra spaces are tolerated', () => {
  const jwt = token(HEADER, { sub: 'u' })
  assert.equal(decodeBearerJwt(`bearer ${jwt}`, NOW)?.payload.sub, 'u')
  assert.equal(decodeBearerJwt(`BEARER   ${jwt}`, NOW)?.payload.sub, 'u')
})

test('an unsigned (alg none) token is still shown', () => {
  const jwt = decodeBearerJwt(`Bearer ${b64url({ alg: 'none' })}.${b64url({ sub: 'u' })}.`, NOW)
  assert.deepEqual(jwt?.header, { alg: 'none' })
})

test('things that are not a Bearer JWT give undefined', () => {
  assert.equal(decodeBearerJwt(undefined, NOW), undefined)
  assert.equal(decodeBearerJwt('', NOW), undefined)
  assert.equal(decodeBearerJwt('Basic dXNlcjpwYXNz', NOW), undefined)
  assert.equal(decodeBearerJwt(`Token ${token(HEADER, { sub: 'u' })}`, NOW), undefined)
  assert.equal(decodeBearerJwt(`Bearer${token(HEADER, { sub: 'u' })}`, NOW), undefined)
  // opaque access token (GitHub style)
  assert.equal(decodeBearerJwt('Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a', NOW), undefined)
  // three dots-separated parts that are not base64url JSON
  assert.equal(decodeBearerJwt('Bearer abc.def.ghi', NOW), undefined)
  // header decodes but the payload is a JSON array, not a claims set
  assert.equal(decodeBearerJwt(`Bearer ${token(HEADER, [1, 2])}`, NOW), undefined)
  // an encrypted JWT (JWE, five parts) cannot be decoded without the key
  assert.equal(decodeBearerJwt(`Bearer ${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`, NOW), undefined)
})

const ASSERTION = token(HEADER, { sub: 'from-gateway' })
const BEARER = token(HEADER, { sub: 'from-client' })
const subs = (jwts: ReturnType<typeof decodeHeaderJwts>) => jwts?.map(j => [j.source, j.payload.sub])

test('headers other than Authorization take the bare token or Bearer; Authorization only Bearer', () => {
  assert.deepEqual(subs(decodeHeaderJwts(['X-JWT-Assertion', ASSERTION], ['x-jwt-assertion'], NOW)), [['x-jwt-assertion', 'from-gateway']])
  assert.deepEqual(subs(decodeHeaderJwts(['x-jwt-assertion', `Bearer ${ASSERTION}`], ['x-jwt-assertion'], NOW)), [['x-jwt-assertion', 'from-gateway']])
  assert.equal(decodeHeaderJwts(['Authorization', BEARER], ['authorization'], NOW), undefined)
  assert.deepEqual(subs(decodeHeaderJwts(['Authorization', `Bearer ${BEARER}`], ['authorization'], NOW)), [['authorization', 'from-client']])
})

test('tokens come in the order of the names, then of arrival; every line and comma-joined element counts', () => {
  const raw = ['X-JWT-Assertion', ASSERTION, 'Authorization', `Bearer ${BEARER}`, 'x-jwt-assertion', `${BEARER}, ${ASSERTION}`]
  assert.deepEqual(subs(decodeHeaderJwts(raw, ['authorization', 'x-jwt-assertion'], NOW)), [
    ['authorization', 'from-client'],
    ['x-jwt-assertion', 'from-gateway'],
    ['x-jwt-assertion', 'from-client'],
    ['x-jwt-assertion', 'from-gateway']
  ])
  const [first] = decodeHeaderJwts(raw, ['authorization'], NOW) ?? []
  assert.deepEqual(Object.keys(first), ['source', 'header', 'payload', 'verified'])
  assert.equal(first.verified, false)
})

test('opaque and broken values in the named headers are skipped; names not listed are not read', () => {
  const raw = [
    'X-JWT-Assertion', 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
    'X-JWT-Assertion', 'abc.def.ghi',
    'X-JWT-Assertion', 'Bearer ',
    'X-JWT-Assertion', '',
    'X-JWT-Assertion', 'Basic dXNlcjpwYXNz',
    'X-JWT-Assertion', `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`,
    'X-Other', ASSERTION
  ]
  assert.equal(decodeHeaderJwts(raw, ['x-jwt-assertion'], NOW), undefined)
  assert.equal(decodeHeaderJwts(['X-JWT-Assertion', ASSERTION], [], NOW), undefined)
})
