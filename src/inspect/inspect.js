// echoscope's live inspector: this entry module wires the page's parts together. Plain browser modules, no
// dependencies and no bundling; they import each other by relative URLs, so they load from wherever the page
// did. Every value that comes from a request is put into the page as text (dom.js), never parsed as HTML:
// the page shows hostile input as is. URLs are relative to the page (data-api, data-app on <body>), so it
// works under --system-prefix and behind a gateway that strips a path prefix.
/* global location */
import { clearDetail, showDetail } from './detail.js'
import { follow } from './feed.js'
import { createList } from './list.js'
import { initConsole } from './ws.js'

const { body } = document
const API = new URL(body.dataset.api, location.href)
const APP = new URL(body.dataset.app, location.href)
// With --admin-token the page is opened as inspect?token=…; the API gets it as a Bearer header.
const TOKEN = new URLSearchParams(location.search).get('token')
const AUTH = TOKEN === null ? {} : { authorization: 'Bearer ' + TOKEN }

const list = createList({ onSelect: showDetail, onClear: clearDetail })
initConsole(APP)
follow(API, AUTH, list.addEntry)
