// app/webhooks/[[...path]]/route.ts: every /webhooks route, answered by the
// same fetch handler. Next passes a standard Request and takes the Response.
import { agnoEvents } from '../../../lib/webhooks.js'

export const runtime = 'nodejs' // the dispatcher and SQLite need Node, not the edge runtime
export const dynamic = 'force-dynamic'

const handle = (request: Request): Promise<Response> => agnoEvents.routes.fetch(request)

export { handle as GET, handle as POST, handle as PATCH, handle as DELETE, handle as OPTIONS }
