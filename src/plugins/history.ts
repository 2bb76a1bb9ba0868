// The request history store (memory, or memory + Redis with --redis-url), closed with the server.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { memoryHistory, redisHistory, type HistoryStore } from '../stores/history.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** null when --history-size is 0 */
    echoscopeHistory: HistoryStore | null
  }
}

export interface HistoryPluginOptions {
  /** --history-size: entries kept; 0 turns the history (and /requests, /inspect) off */
  historySize: number
  historyBodyLimit: number
  redactHeaders: string[]
  /** --redis-url: shared with the other replicas when set ('' when not) */
  redisUrl: string
}

async function history (app: FastifyInstance, opts: HistoryPluginOptions) {
  if (opts.historySize === 0) {
    app.decorate('echoscopeHistory', null)
    return
  }
  const settings = { size: opts.historySize, bodyLimit: opts.historyBodyLimit, redactHeaders: opts.redactHeaders }
  const store = opts.redisUrl !== '' ? redisHistory(settings, opts.redisUrl, app.log) : memoryHistory(settings)
  app.decorate('echoscopeHistory', store)
  app.addHook('onClose', async () => { await store.close() })
}

export default fp(history, { fastify: '5.x', name: 'echoscope-history' })
