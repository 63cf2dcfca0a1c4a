import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import type { StreamEvent } from '@/api/types'

let push: ((e: StreamEvent) => void) | null = null
let state: ((s: 'connecting' | 'open' | 'error') => void) | null = null
vi.mock('@/api/tickets', () => ({ listTickets: vi.fn(), PAGE_SIZE: 50 }))
vi.mock('@/utils/stream', async (orig) => ({
  ...(await orig<typeof import('@/utils/stream')>()),
  openTicketStream: (onEvent: (e: StreamEvent) => void, onState: (s: 'connecting' | 'open' | 'error') => void) => {
    push = onEvent
    state = onState
    return { close: () => {} }
  },
}))

import * as api from '@/api/tickets'
import { useTicketQueue } from '@/views/tickets/queue/utils/hook'

const listTickets = vi.mocked(api.listTickets)
const row = (ticket_id: string, version = 1) => ({ ticket_id, version }) as never
const page = (...tickets: never[]) => ({ tickets, total: tickets.length, counts: {}, at: '' })

afterEach(() => {
  vi.useRealTimers()
  listTickets.mockReset()
})

describe('the live queue', () => {
  it('re-reads until the streamed ticket is on the page (the store lags the stream), then stops', async () => {
    vi.useFakeTimers()
    listTickets.mockResolvedValueOnce(page(row('T-1'))) // mount
    listTickets.mockResolvedValueOnce(page(row('T-1'))) // first refetch: the sink has not written T-2 yet
    listTickets.mockResolvedValue(page(row('T-2'), row('T-1')))
    let q: ReturnType<typeof useTicketQueue> | null = null
    const w = mount(defineComponent({ setup: () => ((q = useTicketQueue()), () => h('div')) }))
    await flushPromises()
    push!({ ticket_id: 'T-2', version: 1, status: 'opened', department_id: 'D1', type: 'TicketOpened' })
    await vi.advanceTimersByTimeAsync(800)
    expect(listTickets).toHaveBeenCalledTimes(2)
    expect(q!.rows.value.map((r) => r.ticket_id)).toEqual(['T-1'])
    await vi.advanceTimersByTimeAsync(1500)
    expect(listTickets).toHaveBeenCalledTimes(3)
    expect(q!.rows.value.map((r) => r.ticket_id)).toEqual(['T-2', 'T-1'])
    await vi.advanceTimersByTimeAsync(20_000)
    expect(listTickets).toHaveBeenCalledTimes(3)
    w.unmount()
  })

  it('reads the list again after the stream reconnects, not after its first connect', async () => {
    vi.useFakeTimers()
    listTickets.mockResolvedValueOnce(page(row('T-1'))) // mount
    listTickets.mockResolvedValue(page(row('T-3'), row('T-1'))) // T-3 opened while the stream was away
    let q: ReturnType<typeof useTicketQueue> | null = null
    const w = mount(defineComponent({ setup: () => ((q = useTicketQueue()), () => h('div')) }))
    await flushPromises()
    state!('open')
    await vi.advanceTimersByTimeAsync(2000)
    expect(listTickets).toHaveBeenCalledTimes(1)
    state!('connecting') // dropped; EventSource reconnects by itself
    state!('open')
    expect(q!.streamState.value).toBe('open')
    await vi.advanceTimersByTimeAsync(800)
    expect(listTickets).toHaveBeenCalledTimes(2)
    expect(q!.rows.value.map((r) => r.ticket_id)).toEqual(['T-3', 'T-1'])
    w.unmount()
  })
})
