// The attempt counters of the x-echo-fail-times control (memory, or shared through Redis with --redis-url),
// closed with the server. None with --no-controls: the control cannot be used then.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { memoryFaults, redisFaults, type FaultCounter } from '../stores/faults.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** null with --no-controls */
    echoscopeFaults: FaultCounter | null
  }
}

export interface FaultsPluginOptions {
  noControls: boolean
  /** --redis-url: counters shared with the other replicas when set ('' when not) */
  redisUrl: string
}

async function faults (app: FastifyInstance, opts: FaultsPluginOptions) {
  if (opts.noControls) {
    app.decorate('echoscopeFaults', null)
    return
  }
  const store = opts.redisUrl !== '' ? redisFaults(opts.redisUrl, app.log) : memoryFaults()
  app.decorate('echoscopeFaults', store)
  app.addHook('onClose', async () => { await store.close() })
}

export default fp(faults, { fastify: '5.x', name: 'echoscope-faults' })
