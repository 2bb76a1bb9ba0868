// The inspector's static files are served from next to the compiled routes, so they are copied beside them.
import { cpSync } from 'node:fs'
cpSync(new URL('../src/inspect', import.meta.url), new URL('../dist/src/inspect', import.meta.url), { recursive: true })
