import { describe, expect, it } from 'vitest'
import type { ScopeRow } from '@/api/types'
import {
  buildRectificationOption,
  chartHeight,
  defaultReportMonth,
  rateTooltip,
  rectificationDataset,
} from '@/views/reports/monthly/utils/hook'
import { buildStateCountsOption } from '@/views/tickets/queue/utils/hook'

const dept = (id: string, name: string, bad: number, closed: number): ScopeRow => ({
  scope: 'department',
  id,
  name,
  reviews: 100,
  good_rate: 0.9,
  bad_count: bad,
  bad_rate: bad / 100,
  satisfaction: 90,
  closed,
  rectification_rate: bad ? closed / bad : null,
  on_time_rate: null,
  return_visit_rate: null,
  mean_days_to_close: null,
})

const departments = [
  dept('D-ZSJ', '区政数局', 8, 7),
  dept('D-CZJ', '区财政局', 0, 0),
  dept('D-SW', '朝阳税务局', 3, 3),
  dept('D-SJ', '市市场监管局朝阳分局', 6, 3),
]

type Series = { type: string; encode: Record<string, string>; label: { formatter: (p: unknown) => string }; itemStyle: { color: (p: unknown) => string }; markLine: { data: unknown[] } }

describe('rectification-rate chart option', () => {
  it('uses a dataset of departments with bad reviews, worst first, rates in percent', () => {
    expect(rectificationDataset(departments)).toEqual([
      { department: '市市场监管局朝阳分局', rate: 50, bad: 6, closed: 3 },
      { department: '区政数局', rate: 87.5, bad: 8, closed: 7 },
      { department: '朝阳税务局', rate: 100, bad: 3, closed: 3 },
    ])
    const option = buildRectificationOption(departments) as { dataset: { source: unknown[]; dimensions: string[] }; series: Series[] }
    expect(option.dataset.dimensions).toEqual(['department', 'rate', 'bad', 'closed'])
    expect(option.dataset.source).toHaveLength(3)
    expect(option.series).toHaveLength(1)
    expect(option.series[0].type).toBe('bar')
    expect(option.series[0].encode).toEqual({ x: 'rate', y: 'department' })
  })
  it('formats axis, labels and tooltip the Chinese way and marks the 100% target', () => {
    const option = buildRectificationOption(departments) as unknown as {
      xAxis: { max: number; axisLabel: { formatter: (v: number) => string } }
      series: Series[]
    }
    expect(option.xAxis.max).toBe(100)
    expect(option.xAxis.axisLabel.formatter(87.5)).toBe('87.5%')
    const s = option.series[0]
    expect(s.label.formatter({ data: { rate: 87.5 } })).toBe('87.5%')
    expect(s.markLine.data).toEqual([{ xAxis: 100 }])
    expect(s.itemStyle.color({ data: { rate: 100 } })).not.toBe(s.itemStyle.color({ data: { rate: 50 } }))
    expect(rateTooltip([{ data: { department: '区政数局', rate: 87.5, bad: 1234, closed: 1080 } }])).toBe(
      '区政数局<br/>差评整改率：87.5%<br/>差评 1,234 件，已办结 1,080 件',
    )
    expect(rateTooltip([])).toBe('')
  })
  it('is empty without bad reviews, and the chart grows with departments', () => {
    expect(rectificationDataset([dept('D', '无差评部门', 0, 0)])).toEqual([])
    expect(chartHeight(1)).toBe('160px')
    expect(chartHeight(20)).toBe('608px')
  })
  it('is a pure function of its input', () => {
    const copy = structuredClone(departments)
    buildRectificationOption(departments)
    expect(departments).toEqual(copy)
    expect(JSON.stringify(buildRectificationOption(departments))).toBe(JSON.stringify(buildRectificationOption(copy)))
  })
  it('defaults the report to the previous month', () => {
    expect(defaultReportMonth('2021-06')).toBe('2021-05')
    expect(defaultReportMonth('2022-01')).toBe('2021-12')
  })
})

describe('state counts chart option', () => {
  it('has every state in order with its count', () => {
    const option = buildStateCountsOption({ opened: 4, closed: 1200 })
    expect(option.dataset.source[0]).toEqual({ state: '待分派', count: 4 })
    expect(option.dataset.source).toHaveLength(9)
    expect(option.dataset.source.find((r) => r.state === '申诉中')?.count).toBe(0)
    expect(option.yAxis.axisLabel.formatter(1200)).toBe('1,200')
  })
})
