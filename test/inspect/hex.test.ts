// The inspector's hex helpers (src/inspect/hex.js, no DOM) under Node: the body's hex dump and the
// WebSocket console's hex input.
import { test } from 'node:test'
import assert from 'node:assert/strict'

interface Hex {
  hexDump: (bytes: Uint8Array, max?: number) => string
  parseHex: (input: string) => Uint8Array | null
  toHex: (bytes: Uint8Array) => string
  decodeBase64: (text: string) => Uint8Array
}
const { hexDump, parseHex, toHex, decodeBase64 } = await import(new URL('../../../src/inspect/hex.js', import.meta.url).href) as Hex

test('the hex dump is offset, 16 bytes split 8 and 8, and the printable ASCII, like hexdump -C', () => {
  const bytes = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\u0000\u007f~ ', 'latin1')
  assert.equal(hexDump(bytes), [
    '00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|',
    '00000010  48 6f 73 74 3a 20 78 0d  0a 0d 0a 00 7f 7e 20     |Host: x......~ |'
  ].join('\n'))
  assert.equal(hexDump(new Uint8Array(0)), '', 'nothing for no bytes')
  assert.equal(hexDump(Uint8Array.from([0xff]), 16), '00000000  ff' + ' '.repeat(48) + '|.|', 'a short last line keeps the text column in place')

  // Past the limit the dump stops and says how much is left out.
  const big = new Uint8Array(40).fill(0x41)
  const lines = hexDump(big, 32).split('\n')
  assert.equal(lines.length, 3)
  assert.match(lines[1], /^00000010 {2}(41 ){8} (41 ){8} \|A{16}\|$/)
  assert.equal(lines[2], '… 8 more bytes')
})

test('the console takes hex as pairs of digits, spaced, 0x-prefixed or colon-separated; anything else is refused', () => {
  for (const input of ['00 01 fe FF', '0001feff', '0x00 0x01 0xfe 0xff', '00:01:fe:ff', '00,01, fe,ff', ' 00\n01\tfe ff ']) {
    assert.deepEqual(parseHex(input), Uint8Array.from([0x00, 0x01, 0xfe, 0xff]), JSON.stringify(input))
  }
  assert.deepEqual(parseHex(''), new Uint8Array(0))
  for (const input of ['abc', '0g', 'zz', '00 1', 'hello']) assert.equal(parseHex(input), null, input)
  assert.equal(toHex(Uint8Array.from([0, 15, 16, 255])), '00 0f 10 ff')
})

test('a base64 body decodes to its bytes; a broken one to none', () => {
  const bytes = Buffer.from([0x2d, 0x00, 0xc3, 0x28, 0xff])
  assert.deepEqual(Buffer.from(decodeBase64(bytes.toString('base64'))), bytes)
  assert.deepEqual(decodeBase64('not base64!'), new Uint8Array(0))
})
