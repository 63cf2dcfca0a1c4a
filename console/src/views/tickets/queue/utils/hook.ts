import { computed, onBeforeUnmount, onMounted, reactive, ref, shallowRef } from 'vue'
import { listTickets, PAGE_SIZE } from '@/api/tickets'
import type { StreamEvent, TicketQuery, TicketRow, TicketStatus } from '@/api/types'
import { userMessage } from '@/utils/errors'
import { STATUS_LABELS, STATUS_ORDER } from '@/utils/labels'
import { debounce, openTicketStream, type StreamState, type TicketStream } from '@/utils/stream'

export interface QueueFilters {
  state: TicketStatus | ''
  window: string
  /** '' all, 'true' overdue only, 'false' not overdue */
  overdue: '' | 'true' | 'false'
  month: string
  q: string
  department: string
  escalated: boolean
}

export const emptyFilters = (): QueueFilters => ({
  state: '',
  window: '',
  overdue: '',
  month: '',
  q: '',
  department: '',
  escalated: false,
})

/** The list request for filters and a 1-based page (50 rows a page, paged by the server). */
export function buildQuery(f: QueueFilters, page: number, pageSize = PAGE_SIZE): TicketQuery {
  return {
    state: f.state || undefined,
    window: f.window || undefined,
    overdue: f.overdue === '' ? null : f.overdue === 'true',
    month: f.month || undefined,
    q: f.q.trim() || undefined,
    department: f.department || undefined,
    escalated: f.escalated || null,
    limit: pageSize,
    offset: Math.max(0, page - 1) * pageSize,
  }
}

export interface StateTab {
  name: TicketStatus | ''
  label: string
  count: number
}

/** Tabs "全部" and one per state, with the server's counts (absent states count 0). */
export function stateTabs(counts: Partial<Record<TicketStatus, number>>): StateTab[] {
  const all = STATUS_ORDER.reduce((sum, s) => sum + (counts[s] ?? 0), 0)
  return [{ name: '', label: '全部', count: all }, ...STATUS_ORDER.map((s) => ({ name: s, label: STATUS_LABELS[s], count: counts[s] ?? 0 }))]
}

export type WarnLevel = 'yellow' | 'orange' | 'red'
export interface WarnTag {
  key: string
  label: string
  level: WarnLevel
}

const STAGE_SHORT: Record<string, string> = { contact: '回访', resolve: '整改' }

/**
 * The warning tags of a row: per stage the highest warning reached (50% yellow, 80% orange),
 * replaced by a red 已督办 once that stage was escalated.
 */
export function warningTags(row: Pick<TicketRow, 'warned' | 'escalated'>): WarnTag[] {
  const tags: WarnTag[] = []
  const escalated = new Set(row.escalated ?? [])
  const highest = new Map<string, number>()
  for (const w of row.warned ?? []) {
    const [stage, pct] = w.split(':')
    const n = Number(pct)
    if (!stage || !Number.isFinite(n)) continue
    highest.set(stage, Math.max(highest.get(stage) ?? 0, n))
  }
  for (const stage of ['contact', 'resolve']) {
    const name = STAGE_SHORT[stage]
    if (escalated.has(stage)) {
      tags.push({ key: `${stage}:esc`, label: `${name}已督办`, level: 'red' })
    } else if (highest.has(stage)) {
      const pct = highest.get(stage)!
      tags.push({ key: `${stage}:${pct}`, label: `${name}时限 ${pct}%`, level: pct >= 80 ? 'orange' : 'yellow' })
    }
  }
  return tags
}

/** Re-reads after a stream event whose ticket the page does not show yet: the queue is read from
 * the store, which the sink fills a moment after the event is on the stream. */
export const STREAM_FOLLOW_UPS = 4
export const STREAM_FOLLOW_UP_MS = 1500

/**
 * The queue page's state: filters, the current page, and live refreshes. A ticket event on the
 * stream refetches the current page, once per burst of events, and again a few times while the
 * page does not yet show that ticket at that version (it may also be outside the filters).
 */
export function useTicketQueue(initial: Partial<QueueFilters> = {}, live = true) {
  const filters = reactive<QueueFilters>({ ...emptyFilters(), ...initial })
  const page = ref(1)
  const rows = shallowRef<TicketRow[]>([])
  const total = ref(0)
  const counts = ref<Partial<Record<TicketStatus, number>>>({})
  const loading = ref(false)
  const error = ref<string | null>(null)
  const receivedAt = ref(Date.now())
  const now = ref(Date.now())
  const pendingUpdates = ref(0)
  const streamState = ref<StreamState | 'off'>('off')
  let controller: AbortController | null = null
  let stream: TicketStream | null = null
  let ticker: ReturnType<typeof setInterval> | null = null

  async function load() {
    controller?.abort()
    const mine = new AbortController()
    controller = mine
    loading.value = true
    error.value = null
    try {
      const res = await listTickets(buildQuery(filters, page.value), mine.signal)
      if (mine.signal.aborted) return
      rows.value = res.tickets ?? []
      total.value = res.total ?? 0
      counts.value = res.counts ?? {}
      receivedAt.value = Date.now()
      now.value = receivedAt.value
      pendingUpdates.value = 0
    } catch (err) {
      if (mine.signal.aborted) return
      error.value = userMessage(err)
    } finally {
      if (controller === mine) loading.value = false
    }
  }

  const awaited = new Map<string, number>()
  let followUps = 0
  let followUp: ReturnType<typeof setTimeout> | null = null

  async function refreshForStream() {
    followUp = null
    await load()
    for (const [id, version] of awaited) {
      const row = rows.value.find((r) => r.ticket_id === id)
      if (row && row.version >= version) awaited.delete(id)
    }
    if (awaited.size && followUps < STREAM_FOLLOW_UPS) {
      followUps += 1
      followUp = setTimeout(() => void refreshForStream(), STREAM_FOLLOW_UP_MS * followUps)
    } else {
      awaited.clear()
      followUps = 0
    }
  }

  const refetchSoon = debounce(() => void refreshForStream(), 800)

  // A stream sends only what happens after it connected: after a reconnect, what happened while
  // it was away is in the list, so fetch the list again (the first connect follows the page's load).
  let opened = 0
  function onStreamState(s: StreamState) {
    streamState.value = s
    if (s === 'open' && opened++ > 0) refetchSoon()
  }

  function onStreamEvent(e: StreamEvent) {
    awaited.set(e.ticket_id, Math.max(awaited.get(e.ticket_id) ?? 0, e.version))
    followUps = 0
    if (followUp) clearTimeout(followUp)
    followUp = null
    pendingUpdates.value += 1
    refetchSoon()
  }

  function search() {
    page.value = 1
    void load()
  }

  function reset() {
    Object.assign(filters, emptyFilters(), initial)
    search()
  }

  function setPage(p: number) {
    page.value = p
    void load()
  }

  onMounted(() => {
    void load()
    if (live) stream = openTicketStream(onStreamEvent, onStreamState)
    // time left ticks every half minute without asking the server
    ticker = setInterval(() => (now.value = Date.now()), 30_000)
  })
  onBeforeUnmount(() => {
    controller?.abort()
    refetchSoon.cancel()
    if (followUp) clearTimeout(followUp)
    stream?.close()
    if (ticker) clearInterval(ticker)
  })

  const tabs = computed(() => stateTabs(counts.value))

  return {
    filters,
    page,
    rows,
    total,
    counts,
    tabs,
    loading,
    error,
    receivedAt,
    now,
    pendingUpdates,
    streamState,
    load,
    search,
    reset,
    setPage,
    onStreamEvent,
  }
}

/** A small bar chart of tickets per state (the same counts as the tabs), in state order. */
export function buildStateCountsOption(counts: Partial<Record<TicketStatus, number>>) {
  const source = STATUS_ORDER.map((s) => ({ state: STATUS_LABELS[s], count: counts[s] ?? 0 }))
  return {
    dataset: { dimensions: ['state', 'count'], source },
    grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis' as const, valueFormatter: (v: unknown) => `${Number(v).toLocaleString('zh-CN')} 件` },
    xAxis: { type: 'category' as const, axisLabel: { interval: 0 } },
    yAxis: { type: 'value' as const, minInterval: 1, axisLabel: { formatter: (v: number) => v.toLocaleString('zh-CN') } },
    series: [{ type: 'bar' as const, name: '工单数', encode: { x: 'state', y: 'count' }, itemStyle: { color: '#1d4ed8' }, barMaxWidth: 32 }],
  }
}
