// Placeholder until the TCP/UDP echo lands: see src/transports/.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

async function transports (_app: FastifyInstance) {}

export default fp(transports, { fastify: '5.x', name: 'echoscope-transports' })
