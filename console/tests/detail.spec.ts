import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import type { TicketDetail } from '@/api/types'
import { useSessionStore } from '@/store/session'
import { ApiError } from '@/utils/errors'

vi.mock('@/api/tickets', () => ({
  getTicket: vi.fn(),
  sendCommand: vi.fn(),
  revealPhone: vi.fn(),
  uploadEvidence: vi.fn(),
  evidenceUrl: (id: string, sha: string) => `/api/v1/tickets/${id}/evidence/${sha}`,
  streamUrl: () => '/api/v1/tickets/stream',
}))
vi.mock('@/api/directory', () => ({ getDirectory: vi.fn(async () => ({ halls: [], departments: [], windows: [] })) }))

import * as tickets from '@/api/tickets'
import DetailPage from '@/views/tickets/detail/index.vue'
import { CATCH_UP_MS, historyBehind } from '@/views/tickets/detail/utils/hook'

const mocked = vi.mocked(tickets)

function detail(patch: Partial<TicketDetail> = {}): TicketDetail {
  return {
    ticket_id: 'T-1',
    version: 3,
    status: 'assigned',
    review_id: 'R-1',
    hall_id: 'H1',
    window_id: 'W1',
    department_id: 'D1',
    rating: 1,
    real_name: true,
    happened_at: '2021-05-06T01:00:00Z',
    opened_at: '2021-05-06T01:00:05Z',
    contact_due: '2021-05-07T01:00:00Z',
    resolve_due: '2021-05-13T01:00:00Z',
    officer_id: 'zhang',
    contact_attempts: 0,
    contacted_at: null,
    verdict: null,
    rectified_at: null,
    feedback_at: null,
    explained_at: null,
    closed_at: null,
    resolution: null,
    appeal: null,
    invalidated_reason: null,
    reopen_count: 0,
    warned: ['contact:50'],
    escalated: [],
    reasons: ['态度差'],
    next_due: '2021-05-07T01:00:00Z',
    time_left_seconds: 7200,
    overdue: false,
    review: {
      rating: 1,
      reasons: ['态度差'],
      comment: '工作人员态度差',
      window_id: 'W1',
      hall_id: 'H1',
      staff_id: 'S1',
      item_name: '营业执照办理',
      case_no: 'C-1',
      real_name: true,
      phone: '139****5678',
      happened_at: '2021-05-06T01:00:00Z',
    },
    events: [
      { version: 1, at: '2021-05-06T01:00:05Z', actor: { id: 'haocha', role: 'system' }, event: { type: 'TicketOpened', rating: 1, reasons: ['态度差'] } },
      { version: 2, at: '2021-05-06T02:00:00Z', actor: { id: 'chief', role: 'officer' }, event: { type: 'TicketAssigned', officer_id: 'zhang' } },
      { version: 3, at: '2021-05-06T03:00:00Z', actor: { id: 'haocha', role: 'system' }, event: { type: 'DeadlineWarned', stage: 'contact', percent: 50, due: '2021-05-07T01:00:00Z' } },
    ],
    allowed: ['RecordContact', 'FileAppeal'],
    working_days_left: { contact: 0.5, resolve: 5 },
    evidence: [],
    officers: [{ id: 'zhang', name: '张三' }],
    ...patch,
  }
}

async function mountPage(actorId = 'zhang') {
  const pinia = createPinia()
  setActivePinia(pinia)
  const session = useSessionStore()
  session.actor = { id: actorId, role: 'officer', department_id: 'D1' }
  session.loaded = true
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/tickets/:id', component: DetailPage, props: true }, { path: '/tickets', component: { template: '<div />' } }] })
  await router.push('/tickets/T-1')
  await router.isReady()
  const wrapper = mount(DetailPage, { props: { id: 'T-1' }, global: { plugins: [pinia, router, ElementPlus] }, attachTo: document.body })
  await flushPromises()
  return wrapper
}

const byTestId = (id: string) => document.body.querySelector(`[data-testid="${id}"]`) as HTMLElement | null

beforeEach(() => {
  mocked.getTicket.mockReset()
  mocked.sendCommand.mockReset()
  mocked.revealPhone.mockReset()
})
afterEach(() => {
  document.body.innerHTML = ''
})

describe('ticket detail page', () => {
  it('shows a button for each allowed command and no other', async () => {
    mocked.getTicket.mockResolvedValue(detail())
    const w = await mountPage()
    const buttons = w.findAll('[data-testid^="cmd-"]').map((b) => b.attributes('data-testid'))
    expect(buttons).toEqual(['cmd-RecordContact', 'cmd-FileAppeal'])
    expect(w.find('[data-testid="cmd-RecordContact"]').text()).toBe('回访')
    expect(w.find('[data-testid="ticket-timeline"]').text()).toContain('已分派给 张三（zhang）')
    expect(w.find('[data-testid="ticket-timeline"]').text()).toContain('时限预警：回访时限已过 50%')
    expect(w.find('[data-testid="ticket-time-left"]').text()).toBe('剩 2 小时')
    w.unmount()
  })

  it('lets the assignee see the phone number and says the look was recorded', async () => {
    mocked.getTicket.mockResolvedValue(detail())
    mocked.revealPhone.mockResolvedValue({ phone: '13912345678', recorded: true })
    const w = await mountPage('zhang')
    expect(w.find('[data-testid="phone-masked"]').text()).toBe('139****5678')
    await w.find('[data-testid="phone-reveal"]').trigger('click')
    await flushPromises()
    expect(mocked.revealPhone).toHaveBeenCalledWith('T-1')
    expect(w.find('[data-testid="phone-number"]').text()).toBe('13912345678')
    expect(w.find('[data-testid="phone-notice"]').text()).toBe('本次查看已记录')
    w.unmount()
  })

  it('offers no phone button to anyone but the assignee', async () => {
    mocked.getTicket.mockResolvedValue(detail())
    const w = await mountPage('li')
    expect(w.find('[data-testid="phone-reveal"]').exists()).toBe(false)
    w.unmount()
  })

  it('on 409 shows the conflict notice and reloads the ticket', async () => {
    mocked.getTicket.mockResolvedValueOnce(detail({ allowed: ['ClaimTicket'], officer_id: null, status: 'opened' }))
    mocked.getTicket.mockResolvedValueOnce(detail({ version: 4, allowed: [] }))
    mocked.sendCommand.mockRejectedValue(new ApiError(409, 'conflict', '该工单已被他人处理，已刷新为最新状态'))
    const w = await mountPage()
    await w.find('[data-testid="cmd-ClaimTicket"]').trigger('click')
    await flushPromises()
    const submit = byTestId('cmd-submit')
    expect(submit).not.toBeNull()
    submit!.click()
    await flushPromises()
    expect(mocked.sendCommand).toHaveBeenCalledWith('T-1', { kind: 'ClaimTicket', expected_version: 3 })
    expect(mocked.getTicket).toHaveBeenCalledTimes(2)
    expect(w.find('[data-testid="conflict-message"]').text()).toContain('该工单已被他人处理，已刷新为最新状态')
    expect(w.find('[data-testid="ticket-version"]').text()).toBe('版本 4')
    expect(w.findAll('[data-testid^="cmd-"]').filter((b) => b.attributes('data-testid')?.startsWith('cmd-Claim'))).toHaveLength(0)
    w.unmount()
  })

  it('re-reads quietly until the history shows the version of the row, then stops', async () => {
    const feedback = { version: 4, at: '2021-05-06T04:00:00Z', actor: { id: 'zhang', role: 'officer' }, event: { type: 'FeedbackGiven', message: '已整改' } }
    const behind = detail({ version: 4 })
    mocked.getTicket.mockResolvedValueOnce(behind).mockResolvedValueOnce(behind)
    mocked.getTicket.mockResolvedValue(detail({ version: 4, events: [...behind.events, feedback] }))
    const w = await mountPage()
    expect(w.find('[data-testid="ticket-timeline"]').text()).not.toContain('已反馈')
    await new Promise((r) => setTimeout(r, 2 * CATCH_UP_MS + 200))
    await flushPromises()
    expect(w.find('[data-testid="ticket-timeline"]').text()).toContain('已反馈')
    expect(mocked.getTicket).toHaveBeenCalledTimes(3)
    await new Promise((r) => setTimeout(r, CATCH_UP_MS + 100))
    expect(mocked.getTicket).toHaveBeenCalledTimes(3)
    w.unmount()
  })

  it('knows when the history lags the row', () => {
    expect(historyBehind(detail())).toBe(false)
    expect(historyBehind(detail({ version: 4 }))).toBe(true)
    expect(historyBehind(null)).toBe(false)
  })

  it('shows a no-permission page and no ticket data for another department', async () => {
    mocked.getTicket.mockRejectedValue(new ApiError(403, 'forbidden', '没有权限执行此操作'))
    const w = await mountPage()
    expect(w.find('[data-testid="detail-forbidden"]').text()).toContain('无权限查看此工单')
    expect(w.find('[data-testid="ticket-id"]').exists()).toBe(false)
    w.unmount()
  })
})
