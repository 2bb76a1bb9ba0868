// The WebSocket console: connects to a path of this echoscope, sends text and binary (typed as hex), and
// logs what goes out, what comes back and how the connection closes.
import { $, el } from './dom.js'
import { clock } from './format.js'
import { parseHex, toHex } from './hex.js'

const MAX_LOG = 500
const LABELS = { 'sent-text': '→ text', 'echo-text': '← text', 'sent-binary': '→ binary', 'echo-binary': '← binary', open: 'open', close: 'closed', error: 'error', info: '·' }
const WS_OPEN_KEY = 'echoscope.inspect.wsConsoleOpen'

/** The console's path is relative to echoscope's root as this page reached it (so a gateway's prefix stays). */
function wsUrl (path, app) {
  const url = new URL(path.trim().replace(/^\/+/, ''), app)
  if (url.protocol === 'https:') url.protocol = 'wss:'
  else if (url.protocol === 'http:') url.protocol = 'ws:'
  return url.href
}

function setSocketState (state) {
  $('ws-state').dataset.state = state
  $('ws-state').textContent = state
  $('ws-connect').textContent = state === 'closed' ? 'Connect' : 'Disconnect'
  $('ws-send-text').disabled = state !== 'open'
  $('ws-send-hex').disabled = state !== 'open'
}

/** Wires the console; `app` is the URL of echoscope's root that its paths are relative to. */
export function initConsole (app) {
  let socket = null
  const wsLog = $('ws-log')
  const wsPath = $('ws-path')
  const wsText = $('ws-text')
  const wsHex = $('ws-hex')

  function log (kind, text) {
    wsLog.appendChild(el('li', { class: kind }, el('span', { class: 'time' }, clock(Date.now())), ' ', el('span', { class: 'kind' }, LABELS[kind]), ' ', el('span', { class: 'text' }, text)))
    while (wsLog.childElementCount > MAX_LOG) wsLog.firstElementChild.remove()
    wsLog.scrollTop = wsLog.scrollHeight
  }

  function connect () {
    let url
    try {
      url = wsUrl(wsPath.value, app)
      socket = new WebSocket(url)
    } catch (err) {
      log('error', `cannot connect to ${url ?? wsPath.value}: ${err.message}`)
      return
    }
    const ws = socket
    ws.binaryType = 'arraybuffer'
    setSocketState('connecting')
    log('info', `connecting to ${url}`)
    ws.addEventListener('open', () => {
      setSocketState('open')
      log('open', ws.protocol ? `subprotocol ${ws.protocol}` : url)
    })
    ws.addEventListener('message', ev => {
      if (typeof ev.data === 'string') log('echo-text', ev.data)
      else {
        const bytes = new Uint8Array(ev.data)
        log('echo-binary', `${bytes.length} bytes: ${toHex(bytes)}`)
      }
    })
    ws.addEventListener('error', () => log('error', 'connection error (the browser gives no detail)'))
    ws.addEventListener('close', ev => {
      log('close', `code ${ev.code}${ev.reason ? ` reason "${ev.reason}"` : ''}${ev.wasClean ? '' : ' (not clean)'}`)
      if (socket === ws) {
        socket = null
        setSocketState('closed')
      }
    })
  }

  $('ws-connect').addEventListener('click', () => {
    if (socket === null) connect()
    else socket.close(1000, 'closed from the inspector')
  })

  function sendText () {
    if (socket?.readyState !== WebSocket.OPEN) return
    socket.send(wsText.value)
    log('sent-text', wsText.value)
  }

  function sendHex () {
    if (socket?.readyState !== WebSocket.OPEN) return
    const bytes = parseHex(wsHex.value)
    if (bytes === null) {
      log('error', 'not hex: give pairs of hex digits, e.g. 00 01 fe ff')
      return
    }
    socket.send(bytes)
    log('sent-binary', `${bytes.length} bytes: ${toHex(bytes)}`)
  }

  $('ws-send-text').addEventListener('click', sendText)
  $('ws-send-hex').addEventListener('click', sendHex)
  wsText.addEventListener('keydown', ev => { if (ev.key === 'Enter') sendText() })
  wsHex.addEventListener('keydown', ev => { if (ev.key === 'Enter') sendHex() })
  wsPath.addEventListener('keydown', ev => { if (ev.key === 'Enter' && socket === null) connect() })

  // The console folds away (a <details>, so it works without this script too); whether it is open is kept
  // across reloads. Storage may be unavailable (disabled, or a sandboxed frame): the page works without it.
  const wsConsole = $('ws-console')
  try {
    wsConsole.open = localStorage.getItem(WS_OPEN_KEY) === '1'
  } catch {}
  wsConsole.addEventListener('toggle', () => {
    try {
      localStorage.setItem(WS_OPEN_KEY, wsConsole.open ? '1' : '0')
    } catch {}
    if (wsConsole.open) wsLog.scrollTop = wsLog.scrollHeight
  })
}
