import { describe, expect, it } from 'vitest'
import { buildQuery, emptyFilters, stateTabs, warningTags } from '@/views/tickets/queue/utils/hook'

describe('warning tags', () => {
  it('shows the highest warning per stage: 50% yellow, 80% orange', () => {
    expect(warningTags({ warned: ['contact:50'], escalated: [] })).toEqual([{ key: 'contact:50', label: '回访时限 50%', level: 'yellow' }])
    expect(warningTags({ warned: ['resolve:50', 'resolve:80'], escalated: [] })).toEqual([{ key: 'resolve:80', label: '整改时限 80%', level: 'orange' }])
  })
  it('replaces warnings by a red 已督办 once a stage was escalated', () => {
    expect(warningTags({ warned: ['contact:50', 'contact:80', 'resolve:50'], escalated: ['contact'] })).toEqual([
      { key: 'contact:esc', label: '回访已督办', level: 'red' },
      { key: 'resolve:50', label: '整改时限 50%', level: 'yellow' },
    ])
  })
  it('shows nothing for a ticket without warnings and ignores malformed entries', () => {
    expect(warningTags({ warned: [], escalated: [] })).toEqual([])
    expect(warningTags({ warned: ['garbage', 'contact:x'], escalated: [] })).toEqual([])
  })
})

describe('list query', () => {
  it('pages by 50 and leaves out empty filters', () => {
    const q = buildQuery(emptyFilters(), 3)
    expect(q.limit).toBe(50)
    expect(q.offset).toBe(100)
    expect(q.state).toBeUndefined()
    expect(q.overdue).toBeNull()
    expect(q.escalated).toBeNull()
  })
  it('maps the filters', () => {
    const q = buildQuery({ ...emptyFilters(), state: 'assigned', window: 'W1', overdue: 'false', month: '2021-05', q: '  态度 ', escalated: true }, 1)
    expect(q).toMatchObject({ state: 'assigned', window: 'W1', overdue: false, month: '2021-05', q: '态度', escalated: true, offset: 0 })
  })
})

describe('state tabs', () => {
  it('lists 全部 then every state with its count (0 when absent)', () => {
    const tabs = stateTabs({ opened: 3, assigned: 2, closed: 10 })
    expect(tabs[0]).toEqual({ name: '', label: '全部', count: 15 })
    expect(tabs.map((t) => t.label)).toEqual(['全部', '待分派', '已分派', '已回访', '已整改', '已反馈', '已解释', '申诉中', '已办结', '已作废'])
    expect(tabs.find((t) => t.name === 'appealed')?.count).toBe(0)
  })
})
