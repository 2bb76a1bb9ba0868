// Keeps one process.nextTick queue entry alive for the life of the process, so that every later
// process.nextTick stays on V8's fast path.
//
// Why: Node builds each nextTick entry as an object literal with computed symbol keys
// (`{ [async_id_symbol]: id, [trigger_async_id_symbol]: t, callback, args }`, lib/internal/process/task_queues.js).
// V8 remembers the hidden classes ("maps") those entries go through in the literal's inline caches, weakly.
// If a full garbage collection runs at a moment when no entry is alive (common: the queue is empty between
// ticks), the maps die, the next entry gets new ones, and V8's runtime marks three of those caches
// megamorphic — for good. From then on every process.nextTick (Node's streams call it several times per
// HTTP request) goes through V8's runtime. On a 2-vCPU VM that cost 15-20% of echoscope's requests
// per second, and whether it happened depended on when a full GC fell during start-up: a lottery, drawn once
// per process. An entry that stays alive keeps its map, and through the maps'
// back pointers the whole chain, so the caches stay monomorphic. test/pin-next-tick.test.ts shows both states.
//
// Import this module first (src/cli.ts, src/index.ts): it only helps if it runs before the first full GC.
import { executionAsyncResource } from 'node:async_hooks'

let pinned: object | undefined

// Inside a nextTick callback the execution resource is the queue entry itself.
process.nextTick(() => { pinned = executionAsyncResource() })

/** The entry kept alive (undefined until the first tick has run); exported for the test. */
export function pinnedTickEntry (): object | undefined {
  return pinned
}
