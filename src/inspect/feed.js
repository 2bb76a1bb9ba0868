// The live feed: what /requests holds, then each new request from /requests/stream, reconnecting with
// backoff when the stream ends. Read with fetch rather than EventSource, which cannot send the admin token
// as a header.
import { $ } from './dom.js'

function setFeed (state, text) {
  const feed = $('feed')
  feed.dataset.state = state
  feed.textContent = text ?? state
}

class Unauthorized extends Error {}

async function api (root, auth, path) {
  const res = await fetch(new URL(path, root), { headers: auth, cache: 'no-store' })
  if (res.status === 401) throw new Unauthorized()
  if (!res.ok || res.body === null) throw new Error(`${path}: HTTP ${res.status}`)
  return res
}

/** Server-sent events from a fetch body (echoscope writes LF line ends); resolves when the stream ends. */
export async function readEvents (stream, onEvent) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      }
      if (data.length > 0) onEvent(event, data.join('\n'))
    }
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Follows the feed for good: `onEntry(entry, fresh)` gets each request, `fresh` for one that just arrived.
 * `root` is the URL /requests is relative to, `auth` the headers that carry the admin token.
 */
export async function follow (root, auth, onEntry) {
  let delay = 1000
  for (;;) {
    try {
      // Subscribe first, then load what came before: nothing falls in between (duplicates are dropped).
      const stream = await api(root, auth, 'requests/stream')
      const list = await (await api(root, auth, 'requests?limit=100')).json()
      const recent = Array.isArray(list.requests) ? list.requests : []
      for (let i = recent.length - 1; i >= 0; i--) onEntry(recent[i], false)
      setFeed('live')
      delay = 1000
      await readEvents(stream.body, (event, data) => {
        if (event !== 'request') return
        try {
          onEntry(JSON.parse(data), true)
        } catch {}
      })
    } catch (err) {
      if (err instanceof Unauthorized) {
        setFeed('unauthorized', 'needs the admin token: open this page as …/inspect?token=<admin token>')
        return
      }
    }
    setFeed('reconnecting', 'reconnecting…')
    await sleep(delay)
    delay = Math.min(delay * 2, 15000)
  }
}
