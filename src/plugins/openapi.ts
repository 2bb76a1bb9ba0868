// Placeholder: filled in by the issue that brings openapi (see README).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'

async function plugin (_app: FastifyInstance) {}

export default fp(plugin, { fastify: '5.x', name: 'echoscope-openapi' })
