// The one list of API paths the console uses (src/api/paths.json). scripts/check-api.mjs reads
// the same JSON and checks each path and method against the worker's /openapi.json, so an API
// client must build its URLs from here, never from a string of its own.
import routes from './paths.json'

export type RouteName = keyof typeof routes
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete'

export const API_ROUTES: Record<RouteName, { path: string; methods: HttpMethod[] }> = routes as never

/** Fill a path template: apiPath('ticket', {id: 'T-1'}) -> '/api/v1/tickets/T-1'. */
export function apiPath(name: RouteName, params: Record<string, string> = {}): string {
  return API_ROUTES[name].path.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = params[key]
    if (value === undefined || value === '') throw new Error(`apiPath(${name}): missing ${key}`)
    return encodeURIComponent(value)
  })
}
