import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import zlib from 'node:zlib'
import { parseBody, BodyTooLargeError, DECODE_FLOOR, MULTIPART_MAX_PARTS } from '../../src/echo/body.ts'
import type { BodyLimits } from '../../src/echo/body.ts'

const MiB = 1024 * 1024
const limits: BodyLimits = { maxDecodedSize: 10 * MiB, maxDecodeRatio: 100 }

function sha256 (buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex')
}

test('empty or absent body is none', async () => {
  assert.deepEqual(await parseBody(null, {}, limits), { body: null, bodyEncoding: 'none' })
  assert.deepEqual(await parseBody(Buffer.alloc(0), { 'content-type': 'application/json' }, limits),
    { body: null, bodyEncoding: 'none' })
})

test('JSON body is parsed', async () => {
  const raw = Buffer.from('{"a":1,"b":["x",null],"ü":"ß"}')
  const parsed = await parseBody(raw, { 'content-type': 'application/json; charset=utf-8' }, limits)
  assert.deepEqual(parsed, { body: { a: 1, b: ['x', null], ü: 'ß' }, bodyEncoding: 'json' })
})

test('media type is matched case-insensitively and +json types are JSON', async () => {
  const raw = Buffer.from('{"data":{"type":"articles"}}')
  const vnd = await parseBody(raw, { 'content-type': 'application/vnd.api+json' }, limits)
  assert.deepEqual(vnd, { body: { data: { type: 'articles' } }, bodyEncoding: 'json' })
  const upper = await parseBody(raw, { 'content-type': 'Application/JSON ; Charset=UTF-8' }, limits)
  assert.equal(upper.bodyEncoding, 'json')
})

test('JSON with a UTF-8 byte order mark still parses', async () => {
  const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[1,2]')])
  assert.deepEqual(await parseBody(raw, { 'content-type': 'application/json' }, limits), { body: [1, 2], bodyEncoding: 'json' })
})

test('malformed JSON is echoed as text with bodyError, never thrown', async () => {
  const parsed = await parseBody(Buffer.from('{"a":'), { 'content-type': 'application/json' }, limits)
  assert.equal(parsed.bodyEncoding, 'text')
  assert.equal(parsed.body, '{"a":')
  assert.match(parsed.bodyError ?? '', /^invalid JSON: /)
})

test('JSON content type with bytes that are not UTF-8 is echoed as base64 with bodyError', async () => {
  const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
  const parsed = await parseBody(raw, { 'content-type': 'application/json' }, limits)
  assert.equal(parsed.bodyEncoding, 'base64')
  assert.deepEqual(Buffer.from(parsed.body as string, 'base64'), raw)
  assert.match(parsed.bodyError ?? '', /not valid UTF-8/)
})

test('form body: repeated names become arrays, + is a space, percent escapes are decoded', async () => {
  const raw = Buffer.from('a=1&b=hello+world&a=2&c=%26%3D%2B&empty=&a=3&__proto__=x')
  const parsed = await parseBody(raw, { 'content-type': 'application/x-www-form-urlencoded' }, limits)
  assert.equal(parsed.bodyEncoding, 'form')
  const body = parsed.body as Record<string, unknown>
  assert.deepEqual({ ...body }, { a: ['1', '2', '3'], b: 'hello world', c: '&=+', empty: '', ['__proto__']: 'x' })
  // a field named __proto__ is an ordinary key, not a prototype swap
  assert.equal(Object.getPrototypeOf(body), Object.prototype)
  assert.ok(Object.hasOwn(body, '__proto__'))
})

test('form body with many fields is not silently truncated', async () => {
  const raw = Buffer.from(Array.from({ length: 1500 }, (_, i) => `k${i}=${i}`).join('&'))
  const parsed = await parseBody(raw, { 'content-type': 'application/x-www-form-urlencoded' }, limits)
  assert.equal(Object.keys(parsed.body as object).length, 1500)
})

function multipart (boundary: string, parts: { name: string, filename?: string, type?: string, data: Buffer | string }[]): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if (part.filename !== undefined) head += `; filename="${part.filename}"`
    head += '\r\n'
    if (part.type !== undefined) head += `Content-Type: ${part.type}\r\n`
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(part.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}

test('multipart: fields (one repeated) and files with size and sha256', async () => {
  const png = randomBytes(70_000)
  const notes = Buffer.from('line one\r\nline two\r\n--not-the-boundary\r\n')
  const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW'
  const raw = multipart(boundary, [
    { name: 'title', data: 'Hello wörld' },
    { name: 'tag', data: 'a' },
    { name: 'photo', filename: 'cat.png', type: 'image/png', data: png },
    { name: 'tag', data: 'b' },
    { name: 'notes', filename: 'C:\\docs\\notes.txt', type: 'text/plain', data: notes }
  ])
  const parsed = await parseBody(raw, { 'content-type': `multipart/form-data; boundary=${boundary}` }, limits)
  assert.equal(parsed.bodyError, undefined)
  assert.equal(parsed.bodyEncoding, 'multipart')
  assert.deepEqual(parsed.body, {
    fields: { title: 'Hello wörld', tag: ['a', 'b'] },
    files: [
      { field: 'photo', filename: 'cat.png', type: 'image/png', size: 70_000, sha256: sha256(png) },
      { field: 'notes', filename: 'C:\\docs\\notes.txt', type: 'text/plain', size: notes.length, sha256: sha256(notes) }
    ]
  })
})

test('multipart with a quoted boundary and an empty file', async () => {
  const raw = multipart('abc def', [{ name: 'f', filename: 'empty.bin', type: 'application/octet-stream', data: '' }])
  const parsed = await parseBody(raw, { 'content-type': 'multipart/form-data; boundary="abc def"' }, limits)
  assert.deepEqual(parsed.body, {
    fields: {},
    files: [{ field: 'f', filename: 'empty.bin', type: 'application/octet-stream', size: 0, sha256: sha256(Buffer.alloc(0)) }]
  })
})

test('multipart without the closing delimiter is echoed as text with bodyError', async () => {
  const raw = Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue')
  const parsed = await parseBody(raw, { 'content-type': 'multipart/form-data; boundary=XyZ' }, limits)
  assert.equal(parsed.bodyEncoding, 'text')
  assert.equal(parsed.body, raw.toString())
  assert.match(parsed.bodyError ?? '', /^invalid multipart\/form-data: .*unexpected end/i)
})

test('multipart with binary content and a truncated file part is echoed as base64 with bodyError', async () => {
  const full = multipart('b1', [{ name: 'f', filename: 'x.bin', type: 'application/octet-stream', data: Buffer.from([0xff, 0x00, 0xfe]) }])
  const raw = full.subarray(0, full.length - 10)
  const parsed = await parseBody(raw, { 'content-type': 'multipart/form-data; boundary=b1' }, limits)
  assert.equal(parsed.bodyEncoding, 'base64')
  assert.deepEqual(Buffer.from(parsed.body as string, 'base64'), raw)
  assert.match(parsed.bodyError ?? '', /multipart/)
})

test('multipart without a boundary parameter is echoed with bodyError', async () => {
  const raw = Buffer.from('a=b')
  const parsed = await parseBody(raw, { 'content-type': 'multipart/form-data' }, limits)
  assert.equal(parsed.bodyEncoding, 'text')
  assert.equal(parsed.body, 'a=b')
  assert.match(parsed.bodyError ?? '', /boundary/i)
})

test('multipart with more parts than the limit is echoed with bodyError', async () => {
  const parts = Array.from({ length: MULTIPART_MAX_PARTS + 1 }, (_, i) => ({ name: `f${i}`, data: 'v' }))
  const parsed = await parseBody(multipart('lim', parts), { 'content-type': 'multipart/form-data; boundary=lim' }, limits)
  assert.equal(parsed.bodyEncoding, 'text')
  assert.match(parsed.bodyError ?? '', new RegExp(`more than ${MULTIPART_MAX_PARTS} parts`))
})

test('text with a charset parameter is UTF-8 text', async () => {
  const parsed = await parseBody(Buffer.from('héllo\n'), { 'content-type': 'text/plain; charset=utf-8' }, limits)
  assert.deepEqual(parsed, { body: 'héllo\n', bodyEncoding: 'text' })
  for (const type of ['application/xml', 'application/atom+xml', 'application/x-ndjson', 'application/yaml', 'text/csv']) {
    assert.equal((await parseBody(Buffer.from('{"a":1}\n{"a":2}\n'), { 'content-type': type }, limits)).bodyEncoding, 'text', type)
  }
})

test('text type with bytes that are not UTF-8 is base64 with bodyError', async () => {
  const raw = Buffer.from('caf\xe9', 'latin1')
  const parsed = await parseBody(raw, { 'content-type': 'text/plain; charset=iso-8859-1' }, limits)
  assert.equal(parsed.bodyEncoding, 'base64')
  assert.deepEqual(Buffer.from(parsed.body as string, 'base64'), raw)
  assert.match(parsed.bodyError ?? '', /not valid UTF-8/)
})

test('octet-stream is base64 and round-trips byte-exact', async () => {
  const raw = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)])
  const parsed = await parseBody(raw, { 'content-type': 'application/octet-stream' }, limits)
  assert.equal(parsed.bodyEncoding, 'base64')
  assert.equal(parsed.bodyError, undefined)
  assert.deepEqual(Buffer.from(parsed.body as string, 'base64'), raw)
  // a valid UTF-8 image is still binary by its type
  assert.equal((await parseBody(Buffer.from('GIF89a'), { 'content-type': 'image/gif' }, limits)).bodyEncoding, 'base64')
})

test('no content type: text when it is UTF-8 without NUL, otherwise base64', async () => {
  assert.deepEqual(await parseBody(Buffer.from('just some words ✓'), {}, limits), { body: 'just some words ✓', bodyEncoding: 'text' })
  const nul = Buffer.from('a\0b')
  assert.deepEqual(await parseBody(nul, {}, limits), { body: nul.toString('base64'), bodyEncoding: 'base64' })
  const bin = Buffer.from([0xc3, 0x28, 0x01])
  assert.deepEqual(await parseBody(bin, {}, limits), { body: bin.toString('base64'), bodyEncoding: 'base64' })
})

const json = { hello: 'world', list: Array.from({ length: 200 }, (_, i) => ({ i, s: 'x'.repeat(i % 17) })) }
const jsonBytes = Buffer.from(JSON.stringify(json))

test('content codings round-trip: gzip, x-gzip, deflate (zlib and raw), br', async () => {
  const cases: [string, Buffer][] = [
    ['gzip', zlib.gzipSync(jsonBytes)],
    ['x-gzip', zlib.gzipSync(jsonBytes)],
    ['deflate', zlib.deflateSync(jsonBytes)],
    ['deflate', zlib.deflateRawSync(jsonBytes)],
    ['br', zlib.brotliCompressSync(jsonBytes)],
    ['GZIP', zlib.gzipSync(jsonBytes)],
    ['identity, gzip', zlib.gzipSync(jsonBytes)]
  ]
  for (const [coding, raw] of cases) {
    const parsed = await parseBody(raw, { 'content-type': 'application/json', 'content-encoding': coding }, limits)
    assert.deepEqual(parsed, { body: json, bodyEncoding: 'json', decodedBytes: jsonBytes.length }, coding)
  }
})

test('a raw deflate stream whose first bytes look like a zlib header still decodes', async () => {
  // non-final stored block with its padding bits set (0x78) and LEN=1: 0x78 0x01 is also a valid zlib header
  const data = Buffer.from([0x78, 0x01, 0x00, 0xfe, 0xff, 0x41, 0x01, 0x00, 0x00, 0xff, 0xff])
  assert.deepEqual(zlib.inflateRawSync(data), Buffer.from('A'))
  assert.throws(() => zlib.inflateSync(data))
  const parsed = await parseBody(data, { 'content-type': 'text/plain', 'content-encoding': 'deflate' }, limits)
  assert.deepEqual(parsed, { body: 'A', bodyEncoding: 'text', decodedBytes: 1 })
})

test('stacked codings "gzip, br" are undone in reverse order', async () => {
  const raw = zlib.brotliCompressSync(zlib.gzipSync(Buffer.from('stacked text')))
  const parsed = await parseBody(raw, { 'content-type': 'text/plain', 'content-encoding': 'gzip, br' }, limits)
  assert.deepEqual(parsed, { body: 'stacked text', bodyEncoding: 'text', decodedBytes: 12 })
  // the same header sent twice arrives as a list
  const twice = await parseBody(raw, { 'content-type': 'text/plain', 'content-encoding': ['gzip', 'br'] }, limits)
  assert.equal(twice.body, 'stacked text')
})

test('gzip of an empty body is none with decodedBytes 0', async () => {
  const parsed = await parseBody(zlib.gzipSync(Buffer.alloc(0)), { 'content-encoding': 'gzip' }, limits)
  assert.deepEqual(parsed, { body: null, bodyEncoding: 'none', decodedBytes: 0 })
})

test('unknown content coding: raw bytes as base64 with bodyError, nothing decoded', async () => {
  const raw = zlib.gzipSync(jsonBytes)
  const parsed = await parseBody(raw, { 'content-type': 'application/json', 'content-encoding': 'gzip, zstd' }, limits)
  assert.equal(parsed.bodyEncoding, 'base64')
  assert.deepEqual(Buffer.from(parsed.body as string, 'base64'), raw)
  assert.match(parsed.bodyError ?? '', /unsupported Content-Encoding "zstd"/)
  assert.equal(parsed.decodedBytes, undefined)
})

test('corrupt gzip: raw bytes as base64 with bodyError', async () => {
  const gz = zlib.gzipSync(jsonBytes)
  for (const raw of [gz.subarray(0, gz.length >> 1), Buffer.from('definitely not gzip')]) {
    const parsed = await parseBody(raw, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, limits)
    assert.equal(parsed.bodyEncoding, 'base64')
    assert.deepEqual(Buffer.from(parsed.body as string, 'base64'), raw)
    assert.match(parsed.bodyError ?? '', /Content-Encoding "gzip" could not be decoded/)
  }
  const br = await parseBody(Buffer.from('nope'), { 'content-encoding': 'br' }, limits)
  assert.match(br.bodyError ?? '', /Content-Encoding "br" could not be decoded/)
})

async function gzipZeros (total: number): Promise<Buffer> {
  // streamed so that building the bomb does not itself allocate `total` bytes
  const gz = zlib.createGzip({ level: 9 })
  const out: Buffer[] = []
  gz.on('data', (c: Buffer) => out.push(c))
  const chunk = Buffer.alloc(MiB)
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!gz.write(chunk)) await once(gz, 'drain')
  }
  gz.end()
  await once(gz, 'end')
  return Buffer.concat(out)
}

test('zip bomb: 50 MiB of zeros is refused with 413 without allocating it', async () => {
  const bomb = await gzipZeros(50 * MiB)
  assert.ok(bomb.length < 100 * 1024, `bomb is ${bomb.length} bytes`)
  const before = process.memoryUsage()
  await assert.rejects(
    parseBody(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, { maxDecodedSize: 10 * MiB, maxDecodeRatio: 10_000 }),
    (err: unknown) => {
      assert.ok(err instanceof BodyTooLargeError)
      assert.equal(err.statusCode, 413)
      assert.equal(err.code, 'FST_ERR_CTP_BODY_TOO_LARGE')
      assert.equal(err.limit, 'maxDecodedSize')
      assert.match(err.message, /10485760 bytes \(--max-decoded-size; maxDecodedSize when embedded\)/)
      return true
    })
  const after = process.memoryUsage()
  const grewMiB = (after.rss - before.rss) / MiB
  const arrayBuffersMiB = (after.arrayBuffers - before.arrayBuffers) / MiB
  assert.ok(grewMiB < 30, `rss grew ${grewMiB.toFixed(1)} MiB`)
  assert.ok(arrayBuffersMiB < 30, `arrayBuffers grew ${arrayBuffersMiB.toFixed(1)} MiB`)
})

test('ratio cap: 1 MiB from ~1 KiB is refused at ratio 100 and accepted at ratio 2000', async () => {
  const body = Buffer.alloc(MiB, 'a')
  const raw = zlib.gzipSync(body)
  assert.ok(raw.length * 100 < MiB && raw.length * 2000 > MiB)
  const headers = { 'content-type': 'text/plain', 'content-encoding': 'gzip' }
  await assert.rejects(parseBody(raw, headers, { maxDecodedSize: 10 * MiB, maxDecodeRatio: 100 }), (err: unknown) => {
    assert.ok(err instanceof BodyTooLargeError)
    assert.equal(err.limit, 'maxDecodeRatio')
    assert.match(err.message, new RegExp(`100× its ${raw.length} encoded bytes \\(--max-decode-ratio`))
    return true
  })
  const ok = await parseBody(raw, headers, { maxDecodedSize: 10 * MiB, maxDecodeRatio: 2000 })
  assert.equal(ok.decodedBytes, MiB)
  assert.equal(ok.body, body.toString())
})

test('ratio cap never goes below the floor, but maxDecodedSize still wins', async () => {
  // a tiny gzip of ordinary JSON expands far beyond ratio 2; the 64 KiB floor lets it through
  const small = Buffer.from(JSON.stringify({ pad: ' '.repeat(DECODE_FLOOR - 20) }))
  const raw = zlib.gzipSync(small)
  const ok = await parseBody(raw, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, { maxDecodedSize: 10 * MiB, maxDecodeRatio: 2 })
  assert.equal(ok.bodyEncoding, 'json')
  assert.equal(ok.decodedBytes, small.length)
  await assert.rejects(
    parseBody(raw, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, { maxDecodedSize: 1000, maxDecodeRatio: 100 }),
    /1000 bytes \(--max-decoded-size; maxDecodedSize when embedded\)/)
  // just over the floor is refused by the ratio
  const over = zlib.gzipSync(Buffer.alloc(DECODE_FLOOR + 1))
  await assert.rejects(parseBody(over, { 'content-encoding': 'gzip' }, { maxDecodedSize: 10 * MiB, maxDecodeRatio: 2 }), BodyTooLargeError)
})

test('the cap applies to every layer of stacked codings', async () => {
  const inner = zlib.gzipSync(Buffer.alloc(20 * MiB))
  const raw = zlib.brotliCompressSync(inner)
  await assert.rejects(parseBody(raw, { 'content-encoding': 'gzip, br' }, limits), BodyTooLargeError)
})
