import { afterEach, describe, expect, it, vi } from 'vitest'
import { debounce, openTicketStream, parseStreamEvent } from '@/utils/stream'

class FakeEventSource {
  static last: FakeEventSource | null = null
  readyState = 0
  listeners: Record<string, ((e: unknown) => void)[]> = {}
  closed = false
  constructor(
    public url: string,
    public init: EventSourceInit,
  ) {
    FakeEventSource.last = this
  }
  addEventListener(type: string, fn: (e: unknown) => void) {
    ;(this.listeners[type] ??= []).push(fn)
  }
  emit(type: string, data?: string) {
    for (const fn of this.listeners[type] ?? []) fn({ data })
  }
  close() {
    this.closed = true
  }
}

afterEach(() => vi.useRealTimers())

describe('debounce', () => {
  it('runs once after a burst, with the last arguments', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    const d = debounce(fn, 800)
    d(1)
    vi.advanceTimersByTime(500)
    d(2)
    vi.advanceTimersByTime(500)
    d(3)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(800)
    expect(fn).toHaveBeenCalledTimes(1)
    expect(fn).toHaveBeenCalledWith(3)
  })
  it('can be cancelled and flushed', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    const d = debounce(fn, 100)
    d('a')
    d.cancel()
    vi.advanceTimersByTime(200)
    expect(fn).not.toHaveBeenCalled()
    d('b')
    d.flush()
    expect(fn).toHaveBeenCalledWith('b')
    d.flush()
    expect(fn).toHaveBeenCalledTimes(1)
  })
})

describe('ticket stream', () => {
  it('subscribes to the stream with the cookie and passes on ticket events', () => {
    const events: unknown[] = []
    const states: string[] = []
    const s = openTicketStream((e) => events.push(e), (st) => states.push(st), FakeEventSource as unknown as typeof EventSource)
    const src = FakeEventSource.last!
    expect(src.url).toBe('/api/v1/tickets/stream')
    expect(src.init.withCredentials).toBe(true)
    src.emit('open')
    src.emit('ticket', JSON.stringify({ ticket_id: 'T1', version: 3, status: 'assigned', department_id: 'D1', type: 'TicketAssigned' }))
    src.emit('ticket', 'not json')
    expect(events).toEqual([{ ticket_id: 'T1', version: 3, status: 'assigned', department_id: 'D1', type: 'TicketAssigned' }])
    expect(states).toEqual(['connecting', 'open'])
    src.readyState = 2
    src.emit('error')
    expect(states.at(-1)).toBe('error')
    s!.close()
    expect(src.closed).toBe(true)
  })
  it('does nothing where there is no EventSource', () => {
    expect(openTicketStream(() => {}, () => {}, undefined)).toBeNull()
  })
  it('ignores malformed events', () => {
    expect(parseStreamEvent('{"version": 1}')).toBeNull()
    expect(parseStreamEvent('null')).toBeNull()
  })
})
