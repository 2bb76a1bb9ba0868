// The inspector's live-feed reader (src/inspect/feed.js) under Node: server-sent events as echoscope's
// /requests/stream writes them, read from a real stream of a real server, and from chunks cut anywhere.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startEcho } from '../helper.ts'

type OnEvent = (event: string, data: string) => void
const { readEvents } = await import(new URL('../../../src/inspect/feed.js', import.meta.url).href) as { readEvents: (stream: ReadableStream<Uint8Array>, onEvent: OnEvent) => Promise<void> }

function streamOf (chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start (controller) {
      for (const c of chunks) controller.enqueue(c)
      controller.close()
    }
  })
}

test('events cut at any byte, even inside a UTF-8 character, arrive whole; comments and retry lines are not events', async () => {
  const text = 'retry: 2000\n: connected\n\nevent: request\nid: 1\ndata: {"name":"ü✓"}\n\n: keep-alive\n\ndata: one\ndata:two\n\nevent: request\ndata: last\n\n'
  const bytes = Buffer.from(text)
  for (let cut = 1; cut < bytes.length; cut++) {
    const got: Array<[string, string]> = []
    await readEvents(streamOf([bytes.subarray(0, cut), bytes.subarray(cut)]), (event, data) => got.push([event, data]))
    assert.deepEqual(got, [['request', '{"name":"ü✓"}'], ['message', 'one\ntwo'], ['request', 'last']], `cut at ${cut}`)
  }
})

test('a request sent to the server comes out of /requests/stream as one request event with its entry', async (t) => {
  const { url } = await startEcho(t)
  const controller = new AbortController()
  const res = await fetch(`${url}/requests/stream`, { signal: controller.signal })
  assert.equal(res.status, 200)
  const got = new Promise<any>((resolve, reject) => {
    readEvents(res.body as ReadableStream<Uint8Array>, (event, data) => {
      if (event === 'request') resolve(JSON.parse(data))
    }).catch(reject)
  })
  await fetch(`${url}/streamed?x=1`, { method: 'POST', body: 'hi' })
  const entry = await got
  controller.abort()
  assert.equal(entry.url, '/streamed?x=1')
  assert.equal(entry.body, 'hi')
})
