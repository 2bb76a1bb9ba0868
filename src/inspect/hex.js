// Bytes as hex and back: the body's hex dump, and the WebSocket console's binary messages. No DOM here, so
// Node can import it too.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The bytes a base64 body stands for; none when it is not base64. */
export function decodeBase64 (text) {
  try {
    const binary = atob(String(text))
    const bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
    return bytes
  } catch {
    return new Uint8Array(0)
  }
}

export const toHex = bytes => Array.from(bytes, b => HEX[b]).join(' ')

/** offset, 16 bytes in hex, and the printable ASCII, like `hexdump -C`. */
export function hexDump (bytes, max = 65536) {
  const n = Math.min(bytes.length, max)
  const lines = []
  for (let off = 0; off < n; off += 16) {
    let hex = ''
    let text = ''
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' '
      if (off + i < n) {
        const b = bytes[off + i]
        hex += HEX[b] + ' '
        text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'
      } else {
        hex += '   '
      }
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${text}|`)
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`)
  return lines.join('\n')
}

/** Pairs of hex digits, spaced or not, with or without 0x, colons or commas between; null when it is not that. */
export function parseHex (input) {
  const digits = input.replace(/\b0x/gi, '').replace(/[\s:,]+/g, '')
  if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) return null
  const bytes = new Uint8Array(digits.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16)
  return bytes
}
