import { describe, expect, it } from 'vitest'
import type { TicketEventItem } from '@/api/types'
import { actorLabel, eventLabel, latestAppeal, officerLabel, timelineItems } from '@/views/tickets/detail/utils/hook'

const ev = (version: number, event: TicketEventItem['event'], actor = 'zhang'): TicketEventItem => ({
  version,
  at: `2021-05-0${Math.min(version, 9)}T02:00:00Z`,
  actor: { id: actor, role: 'officer' },
  event,
})

describe('event -> timeline label', () => {
  it('labels every event type in Chinese', () => {
    const cases: [TicketEventItem['event'], string][] = [
      [{ type: 'TicketOpened', rating: 1, reasons: ['态度差', '效率低'] }, '工单生成'],
      [{ type: 'TicketAssigned', officer_id: 'li' }, '已分派给 li'],
      [{ type: 'RectificationRecorded', measures: '培训', evidence: [] }, '整改措施'],
      [{ type: 'FeedbackGiven', message: 'm' }, '已反馈'],
      [{ type: 'PolicyExplained', explanation: 'e' }, '政策解释'],
      [{ type: 'TicketClosed', resolution: 'rectified' }, '办结（整改办结）'],
      [{ type: 'TicketClosed', resolution: 'explained' }, '办结（解释办结）'],
      [{ type: 'AppealFiled', ground: 'mistaken', argument: 'a' }, '提出申诉（误评）'],
      [{ type: 'AppealFiled', ground: 'malicious', argument: 'a' }, '提出申诉（恶意评价）'],
      [{ type: 'AppealDecided', upheld: true, reason: 'r' }, '复核结果：维持申诉，评价作废'],
      [{ type: 'AppealDecided', upheld: false, reason: 'r' }, '复核结果：驳回申诉，继续整改'],
      [{ type: 'TicketReopened', rating: 2, resolve_due: '2021-05-10T10:00:00Z' }, '追评重开'],
      [{ type: 'DeadlineWarned', stage: 'contact', percent: 50, due: '2021-05-06T10:00:00Z' }, '时限预警：回访时限已过 50%'],
      [{ type: 'DeadlineWarned', stage: 'resolve', percent: 80, due: '2021-05-06T10:00:00Z' }, '时限预警：整改反馈时限已过 80%'],
      [{ type: 'TicketEscalated', stage: 'resolve', due: '2021-05-06T10:00:00Z' }, '超期督办：整改反馈已超期'],
      [{ type: 'PhoneViewed', viewer_id: 'zhang' }, '查看号码'],
    ]
    for (const [event, title] of cases) expect(eventLabel(event).title, event.type).toBe(title)
  })
  it('gives details: rating and reasons, measures with evidence count, the reopen deadline', () => {
    expect(eventLabel({ type: 'TicketOpened', rating: 1, reasons: ['态度差', '效率低'] }).detail).toBe('评价：非常不满意；原因：态度差、效率低')
    expect(eventLabel({ type: 'RectificationRecorded', measures: '窗口培训', evidence: ['a', 'b'] }).detail).toBe('窗口培训（附证据 2 份）')
    expect(eventLabel({ type: 'TicketReopened', rating: 2, resolve_due: '2021-05-10T02:00:00Z' }).detail).toBe('追评：不满意；新整改时限：2021-05-10 10:00')
    expect(eventLabel({ type: 'PhoneViewed', viewer_id: 'zhang' }).detail).toBe('zhang 查看了评价人号码')
  })
  it('labels contacts: reached or not, the attempt number, and the verdict', () => {
    expect(eventLabel({ type: 'ContactRecorded', reached: true, verdict: '属实', note: '' }, { attempt: 2 }).title).toBe('回访（已联系，第 2 次）：属实')
    expect(eventLabel({ type: 'ContactRecorded', reached: true, verdict: '不属实', note: '' }, { attempt: 1 }).title).toBe('回访（已联系，第 1 次）：不属实')
    expect(eventLabel({ type: 'ContactRecorded', reached: false, verdict: null, note: '无人接听' }, { attempt: 1 })).toMatchObject({
      title: '回访（未接通，第 1 次）',
      detail: '无人接听',
      type: 'warning',
    })
  })
  it('does not show a machine name for an event type it does not know', () => {
    expect(eventLabel({ type: 'SomethingNew' })).toEqual({ title: '其他记录', detail: null, type: 'info' })
  })
})

describe('timeline', () => {
  const events = [
    ev(4, { type: 'ContactRecorded', reached: true, verdict: '属实', note: '' }),
    ev(1, { type: 'TicketOpened', rating: 2, reasons: [] }, 'haocha'),
    ev(3, { type: 'ContactRecorded', reached: false, verdict: null, note: '' }),
    ev(2, { type: 'TicketAssigned', officer_id: 'zhang' }, 'chief'),
    ev(5, { type: 'AppealFiled', ground: 'mistaken', argument: '评价人按错' }),
    ev(6, { type: 'AppealDecided', upheld: false, reason: '无证据' }, 'sup'),
    ev(7, { type: 'AppealFiled', ground: 'malicious', argument: '第二次申诉' }),
  ]
  it('orders events by version and numbers contact attempts', () => {
    const items = timelineItems(events, [{ id: 'zhang', name: '张三' }])
    expect(items.map((i) => i.key)).toEqual(['1', '2', '3', '4', '5', '6', '7'])
    expect(items[1].title).toBe('已分派给 张三（zhang）')
    expect(items[1].actor).toBe('chief')
    expect(items[2].title).toBe('回访（未接通，第 1 次）')
    expect(items[3].title).toBe('回访（已联系，第 2 次）：属实')
  })
  it('finds the latest appeal and its argument for the supervisor', () => {
    expect(latestAppeal(events)).toMatchObject({ ground: 'malicious', argument: '第二次申诉', by: 'zhang' })
    expect(latestAppeal(events.slice(0, 4))).toBeNull()
  })
})

describe('who acted', () => {
  const officers = [{ id: 'zhang', name: '张三' }]
  it('names the platform 系统 and officers by name', () => {
    const items = timelineItems([ev(1, { type: 'TicketOpened', rating: 1, reasons: [] }, 'haocha')].map((e) => ({ ...e, actor: { id: 'haocha', role: 'system' } })), officers)
    expect(items[0].actor).toBe('系统')
    expect(actorLabel({ id: 'zhang', role: 'officer' }, (id) => officerLabel(id, officers))).toBe('张三（zhang）')
  })
  it('shows the assignee by name, the id when unknown, 未分派 when none', () => {
    expect(officerLabel('zhang', officers)).toBe('张三（zhang）')
    expect(officerLabel('li', officers)).toBe('li')
    expect(officerLabel(null, officers)).toBe('未分派')
  })
})

