export { createWebhookRoutes } from './routes.js'
export type { NodeRequest, Principal, WebhookRoutes, WebhookRoutesOptions } from './routes.js'
export { createOpenApiDocument } from './openapi.js'
export type { OpenApiOptions } from './openapi.js'
