// Live ticket events over Server-Sent Events (GET /api/v1/tickets/stream, cookie auth).
import { streamUrl } from '@/api/tickets'
import type { StreamEvent } from '@/api/types'

export interface Debounced<A extends unknown[]> {
  (...args: A): void
  cancel(): void
  flush(): void
}

/** Call fn once, `ms` after the last of a burst of calls. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | null = null
  let lastArgs: A | null = null
  const run = () => {
    timer = null
    const args = lastArgs
    lastArgs = null
    if (args) fn(...args)
  }
  const debounced = ((...args: A) => {
    lastArgs = args
    if (timer) clearTimeout(timer)
    timer = setTimeout(run, ms)
  }) as Debounced<A>
  debounced.cancel = () => {
    if (timer) clearTimeout(timer)
    timer = null
    lastArgs = null
  }
  debounced.flush = () => {
    if (timer) {
      clearTimeout(timer)
      run()
    }
  }
  return debounced
}

export type StreamState = 'connecting' | 'open' | 'error'

export interface TicketStream {
  close(): void
}

export function parseStreamEvent(data: string): StreamEvent | null {
  try {
    const v = JSON.parse(data) as StreamEvent
    return v && typeof v.ticket_id === 'string' ? v : null
  } catch {
    return null
  }
}

/**
 * Subscribe to ticket events. EventSource reconnects by itself after a drop; `onState` lets the
 * page show whether updates are live. Returns null where the browser has no EventSource.
 */
export function openTicketStream(
  onEvent: (e: StreamEvent) => void,
  onState: (s: StreamState) => void = () => {},
  Impl: typeof EventSource | undefined = globalThis.EventSource,
): TicketStream | null {
  if (!Impl) return null
  const source = new Impl(streamUrl(), { withCredentials: true })
  onState('connecting')
  source.addEventListener('open', () => onState('open'))
  source.addEventListener('error', () => onState(source.readyState === 2 ? 'error' : 'connecting'))
  source.addEventListener('ticket', (msg) => {
    const ev = parseStreamEvent((msg as MessageEvent<string>).data)
    if (ev) onEvent(ev)
  })
  return { close: () => source.close() }
}
